-- A custom partition time extractor (a Java class in Flink).
-- kind: ConnectorError
-- error: Connector error: partition.time-extractor.kind 'custom' is not supported
-- error: Hint: Use the default extractor with 'partition.time-extractor.timestamp-pattern'.
CREATE TABLE totals (name STRING, amount BIGINT) PARTITIONED BY (name)
  WITH ('connector' = 'filesystem', 'path' = '${DATA}/totals', 'format' = 'csv',
        'partition.time-extractor.kind' = 'custom',
        'partition.time-extractor.class' = 'com.example.MyExtractor');
INSERT INTO totals SELECT name, amount FROM orders;
