-- An unknown column in the SELECT list; the hint lists the candidates.
-- kind: ValidationError
-- error: Validation error: unknown column 'nme'
-- error: Hint: available columns: amount, id, name
-- cli
SELECT id, nme FROM orders;
