-- The three Nexmark streams as three Flink `datagen` tables (person, auction, bid), so
-- that FlowSQL and Flink run the join / Top-N queries on the same SQL text (Flink has no
-- `nexmark` connector built in). The runner fills in ${PERSONS}, ${AUCTIONS} and ${BIDS}:
-- for E events they are E/50, 3E/50 and 46E/50 (Nexmark's 1 : 3 : 46 proportions).
--
-- Event time is derived from each table's sequence id so that the three streams cover the
-- same span: person i at i*138 ms, auction i at i*46 ms, bid i at i*3 ms (per 138 ms of
-- event time: 1 person, 3 auctions, 46 bids; about 362 events per second of event time).
-- Keys are chosen so that joins match (integer division is written as
-- (x - MOD(x, d)) / d, which is exact whether `/` divides integers or not):
-- * auction.seller is a recent person: floor(auction id / 3) - seller_lag, seller_lag
--   uniform in [0, 9] (the person created at most 10 persons, 1.4 s, earlier); every auction
--   but the first few finds its seller (q3, q8);
-- * auction.category is uniform in [10, 14] (q3 and q20 keep category 10: 1 in 5);
-- * person.state cycles through OR, ID, CA, WA, NY by id (q3 keeps the first three: 3 in 5);
-- * auction.expires is dateTime + lifetime_ms, lifetime_ms uniform in [100, 1000];
-- * bid.auction is a recent auction: floor(bid time / 46) - auction_lag, auction_lag
--   uniform in [0, 19] (created 0..920 ms before the bid), so every bid joins one auction
--   (q20; 99.7% of the bids at 50K events, the first ones miss) and 59% of them fall
--   inside that auction's lifetime (q4, q9; measured in batch mode at 50K events);
-- * bid.bidder is uniform over all persons, bid.price uniform in [1, 10,000,000].
-- In Flink 2.x `dateTime` is a reserved word (DATETIME), so it is back-quoted everywhere.
-- Flink's datagen does not seed its random fields, so only counts, ids and event times are
-- identical between the engines; the distributions are the same.
CREATE TABLE person (
  id           BIGINT,
  name         VARCHAR,
  emailAddress VARCHAR,
  creditCard   VARCHAR,
  city         VARCHAR,
  extra        VARCHAR,
  state        AS CASE MOD(id, 5) WHEN 0 THEN 'OR' WHEN 1 THEN 'ID' WHEN 2 THEN 'CA'
                   WHEN 3 THEN 'WA' ELSE 'NY' END,
  `dateTime`     AS CAST(TO_TIMESTAMP_LTZ(id * 138, 3) AS TIMESTAMP(3)),
  WATERMARK FOR `dateTime` AS `dateTime` - INTERVAL '4' SECOND
) WITH (
  'connector' = 'datagen',
  'number-of-rows' = '${PERSONS}',
  'rows-per-second' = '1000000000',
  'fields.id.kind' = 'sequence',
  'fields.id.start' = '1',
  'fields.id.end' = '${PERSONS}',
  'fields.name.length' = '10',
  'fields.emailAddress.length' = '20',
  'fields.creditCard.length' = '16',
  'fields.city.length' = '10',
  'fields.extra.length' = '16'
);

CREATE TABLE auction (
  id          BIGINT,
  itemName    VARCHAR,
  description VARCHAR,
  initialBid  BIGINT,
  reserve     BIGINT,
  category    BIGINT,
  extra       VARCHAR,
  seller_lag  BIGINT,
  lifetime_ms BIGINT,
  seller      AS CAST((id - MOD(id, 3)) / 3 AS BIGINT) - seller_lag,
  `dateTime`    AS CAST(TO_TIMESTAMP_LTZ(id * 46, 3) AS TIMESTAMP(3)),
  expires     AS CAST(TO_TIMESTAMP_LTZ(id * 46 + lifetime_ms, 3) AS TIMESTAMP(3)),
  WATERMARK FOR `dateTime` AS `dateTime` - INTERVAL '4' SECOND
) WITH (
  'connector' = 'datagen',
  'number-of-rows' = '${AUCTIONS}',
  'rows-per-second' = '1000000000',
  'fields.id.kind' = 'sequence',
  'fields.id.start' = '1',
  'fields.id.end' = '${AUCTIONS}',
  'fields.itemName.length' = '10',
  'fields.description.length' = '20',
  'fields.initialBid.min' = '1',
  'fields.initialBid.max' = '1000',
  'fields.reserve.min' = '1000',
  'fields.reserve.max' = '2000',
  'fields.category.min' = '10',
  'fields.category.max' = '14',
  'fields.extra.length' = '16',
  'fields.seller_lag.min' = '0',
  'fields.seller_lag.max' = '9',
  'fields.lifetime_ms.min' = '100',
  'fields.lifetime_ms.max' = '1000'
);

CREATE TABLE bid (
  seq         BIGINT,
  bidder      BIGINT,
  price       BIGINT,
  channel     VARCHAR,
  url         VARCHAR,
  extra       VARCHAR,
  auction_lag BIGINT,
  auction     AS CAST((seq * 3 - MOD(seq * 3, 46)) / 46 AS BIGINT) - auction_lag,
  `dateTime`    AS CAST(TO_TIMESTAMP_LTZ(seq * 3, 3) AS TIMESTAMP(3)),
  WATERMARK FOR `dateTime` AS `dateTime` - INTERVAL '4' SECOND
) WITH (
  'connector' = 'datagen',
  'number-of-rows' = '${BIDS}',
  'rows-per-second' = '1000000000',
  'fields.seq.kind' = 'sequence',
  'fields.seq.start' = '1',
  'fields.seq.end' = '${BIDS}',
  'fields.bidder.min' = '1',
  'fields.bidder.max' = '${PERSONS}',
  'fields.price.min' = '1',
  'fields.price.max' = '10000000',
  'fields.channel.length' = '8',
  'fields.url.length' = '32',
  'fields.extra.length' = '16',
  'fields.auction_lag.min' = '0',
  'fields.auction_lag.max' = '19'
);
