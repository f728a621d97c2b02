-- A partition-commit policy that does not exist (or a custom policy class).
-- kind: ConnectorError
-- error: Connector error: Unsupported sink.partition-commit.policy.kind 'custom'
-- error: Hint: Supported: success-file ('metastore' and 'custom' are not available).
CREATE TABLE totals (name STRING, amount BIGINT) PARTITIONED BY (name)
  WITH ('connector' = 'filesystem', 'path' = '${DATA}/totals', 'format' = 'csv',
        'sink.partition-commit.policy.kind' = 'custom',
        'sink.partition-commit.policy.class' = 'com.example.MyPolicy');
INSERT INTO totals SELECT name, amount FROM orders;
