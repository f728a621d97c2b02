-- An unknown column in WHERE.
-- kind: ValidationError
-- error: Validation error: unknown column 'amout'
-- error: Hint: available columns: amount, id, name
SELECT id FROM orders WHERE amout > 10;
