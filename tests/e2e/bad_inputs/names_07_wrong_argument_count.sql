-- A built-in called with too few arguments (found when the query is bound).
-- kind: ValidationError
-- error: Validation error: wrong number of arguments for SUBSTRING(): got 1, expected 2 or 3
SELECT SUBSTRING(name) FROM orders;
