-- An unknown column in GROUP BY.
-- kind: ValidationError
-- error: Validation error: unknown column 'nam'
-- error: Hint: available columns: amount, id, name
SELECT name, SUM(amount) FROM orders GROUP BY nam;
