"""The nexmark source (20,000 events) and its ``bid`` view, shared by the Nexmark-shaped
end-to-end tests."""

DDL = """
CREATE TABLE datagen (
  event_type INT,
  bid ROW<auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, dateTime TIMESTAMP(3)>,
  dateTime AS bid.dateTime,
  WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND
) WITH ('connector' = 'nexmark', 'events.num' = '20000', 'first-event.rate' = '2000',
        'next-event.rate' = '2000')
"""
VIEW = ("CREATE VIEW bid AS SELECT bid.auction AS auction, bid.bidder AS bidder, bid.price AS price, "
        "bid.channel AS channel, dateTime FROM datagen WHERE event_type = 2")
