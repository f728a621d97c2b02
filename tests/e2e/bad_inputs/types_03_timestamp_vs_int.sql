-- Comparing a timestamp with an integer.
-- kind: ValidationError
-- error: Validation error: type mismatch: cannot compare TIMESTAMP(3) with INT
-- error: Hint: cast one side to the other's type, e.g. CAST(x AS TIMESTAMP(3))
SELECT * FROM clicks WHERE ts > 5;
