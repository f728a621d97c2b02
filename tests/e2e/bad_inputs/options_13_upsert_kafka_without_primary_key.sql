-- An upsert-kafka table without a PRIMARY KEY (the key of its messages).
-- kind: ConnectorError
-- error: Connector error: 'upsert-kafka' tables require to define a PRIMARY KEY constraint
-- error: Hint: The PRIMARY KEY specifies which columns are read from or written to the Kafka message key
CREATE TABLE u (id BIGINT, name STRING) WITH ('connector' = 'upsert-kafka', 'topic' = 'users',
  'properties.bootstrap.servers' = '127.0.0.1:9092', 'key.format' = 'json', 'value.format' = 'json');
SELECT * FROM u;
