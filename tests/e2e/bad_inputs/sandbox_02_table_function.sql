-- A table function that is not a catalog table.
-- kind: ValidationError
-- error: Validation error: table function GENERATE_SERIES() is not allowed in FROM
SELECT * FROM generate_series(1, 10);
