-- An exactly-once Kafka sink without a transactional-id prefix (as in Flink, it is required).
-- kind: ConnectorError
-- error: Connector error: Missing required option 'sink.transactional-id-prefix' for connector 'kafka' ('sink.delivery-guarantee' is 'exactly-once')
-- error: Hint: Set a prefix unique to this sink
CREATE TABLE out (id BIGINT) WITH ('connector' = 'kafka', 'topic' = 'out', 'properties.bootstrap.servers' = '127.0.0.1:9092', 'format' = 'json', 'sink.delivery-guarantee' = 'exactly-once');
SET 'execution.runtime-mode' = 'streaming';
SET 'execution.checkpointing.interval' = '10 s';
INSERT INTO out SELECT id FROM orders;
