-- Nexmark q7's inner query: the highest bid price per 10 s tumbling window.
CREATE TABLE discard_sink (
  window_start TIMESTAMP(3), window_end TIMESTAMP(3), maxprice BIGINT
) WITH ('connector' = 'blackhole');

INSERT INTO discard_sink
SELECT window_start, window_end, MAX(price) AS maxprice
FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
GROUP BY window_start, window_end;
