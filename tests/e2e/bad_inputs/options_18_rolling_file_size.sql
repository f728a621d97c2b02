-- A rolling-policy file size that is not a memory size.
-- kind: ConnectorError
-- error: Connector error: Invalid value 'big' for option 'sink.rolling-policy.file-size'
-- error: Hint: Expected a memory size such as '128MB', '512kb' or '1024'.
CREATE TABLE totals (name STRING, amount BIGINT) PARTITIONED BY (name)
  WITH ('connector' = 'filesystem', 'path' = '${DATA}/totals', 'format' = 'csv',
        'sink.rolling-policy.file-size' = 'big');
INSERT INTO totals SELECT name, amount FROM orders;
