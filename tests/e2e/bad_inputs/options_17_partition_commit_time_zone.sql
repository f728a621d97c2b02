-- Partition times compared with the watermark in a time zone other than UTC.
-- kind: ConnectorError
-- error: Connector error: sink.partition-commit.watermark-time-zone 'Asia/Shanghai' is not supported
-- error: Hint: Partition times are compared in UTC.
CREATE TABLE totals (name STRING, amount BIGINT) PARTITIONED BY (name)
  WITH ('connector' = 'filesystem', 'path' = '${DATA}/totals', 'format' = 'csv',
        'sink.partition-commit.trigger' = 'partition-time',
        'sink.partition-commit.watermark-time-zone' = 'Asia/Shanghai');
INSERT INTO totals SELECT name, amount FROM orders;
