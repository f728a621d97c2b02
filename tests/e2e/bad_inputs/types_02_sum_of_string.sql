-- An aggregate over a column of the wrong type.
-- kind: ValidationError
-- error: Validation error: type mismatch: no function matches sum(STRING)
SELECT SUM(name) FROM orders;
