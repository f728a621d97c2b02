-- A selected column that is neither grouped nor aggregated.
-- kind: ValidationError
-- error: Validation error: column 'name' must appear in the GROUP BY clause or be used in an aggregate function
-- error: Hint: add name to GROUP BY, or aggregate it, e.g. MAX(name)
SELECT name, COUNT(*) FROM orders GROUP BY id;
