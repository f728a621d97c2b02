-- A function that reads outside the catalog (the environment).
-- kind: ValidationError
-- error: Validation error: function GETENV() is not allowed
SELECT getenv('HOME') FROM orders;
