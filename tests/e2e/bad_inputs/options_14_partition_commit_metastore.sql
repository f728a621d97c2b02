-- A filesystem sink committing partitions to a Hive metastore.
-- kind: ConnectorError
-- error: Connector error: sink.partition-commit.policy.kind 'metastore' needs a Hive metastore, which FlowSQL does not have
-- error: Hint: Use 'success-file' (a _SUCCESS file in each committed partition).
CREATE TABLE totals (name STRING, amount BIGINT) PARTITIONED BY (name)
  WITH ('connector' = 'filesystem', 'path' = '${DATA}/totals', 'format' = 'csv',
        'sink.partition-commit.policy.kind' = 'metastore,success-file');
INSERT INTO totals SELECT name, amount FROM orders;
