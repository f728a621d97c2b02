-- A STATE_TTL hint whose value is not a duration.
-- kind: ValidationError
-- error: Validation error: the STATE_TTL hint gives 'orders' the value '1 week', which is not a duration
-- error: Hint: a quoted Flink duration: '1d', '12 h', '30 min', '90 s', '1000 ms' ('0' keeps the state forever)
SET 'execution.runtime-mode' = 'streaming';
SELECT /*+ STATE_TTL('orders' = '1 week') */ name, COUNT(*) AS n FROM orders GROUP BY name;
