-- A streaming join whose condition has no equality between the two inputs.
-- kind: ValidationError
-- error: Validation error: a streaming join needs at least one equality condition between its inputs; 'o.amount > c.id' has none (line 3, column 6)
-- error: Hint: join on an equality of the two inputs' columns, e.g. ON o.customer_id = c.id (further conditions may follow with AND)
-- cli
SET 'execution.runtime-mode' = 'streaming';
SELECT o.name, c.city FROM orders AS o JOIN customers AS c
  ON o.amount > c.id;
