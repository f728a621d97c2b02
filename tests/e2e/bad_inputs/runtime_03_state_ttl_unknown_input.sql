-- A STATE_TTL hint naming a table that is not an input of the query block.
-- kind: ValidationError
-- error: Validation error: the STATE_TTL hint names 'order', which is not an input table or view of this query block
-- error: Hint: its inputs: o, orders (a table or view name, or its alias)
-- cli
SET 'execution.runtime-mode' = 'streaming';
SELECT /*+ STATE_TTL('order' = '1h') */ o.name, COUNT(*) AS n
FROM orders AS o
GROUP BY o.name;
