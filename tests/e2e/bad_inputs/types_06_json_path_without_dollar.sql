-- A JSON path that does not start with '$'.
-- kind: ValidationError
-- error: Validation error: invalid JSON path 'a.b': a path starts with '$'
SELECT JSON_VALUE(name, 'a.b') FROM orders;
