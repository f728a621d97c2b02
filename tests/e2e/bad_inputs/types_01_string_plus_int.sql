-- Arithmetic on a string.
-- kind: ValidationError
-- error: Validation error: type mismatch: no function matches +(STRING, INT)
-- error: Hint: cast the arguments to matching types
-- cli
SELECT 'abc' + 1 FROM orders;
