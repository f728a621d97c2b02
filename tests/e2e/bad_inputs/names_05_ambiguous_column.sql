-- A column that both sides of a join have, not qualified.
-- kind: ValidationError
-- error: Validation error: ambiguous column 'name': more than one table has it
-- error: Hint: qualify it with its table: o.name or c.name
-- cli
SELECT name FROM orders AS o JOIN customers AS c ON o.id = c.id;
