-- A view over a declared table that also tries to read a file no table declares.
-- kind: ValidationError
-- error: Validation error: table function READ_TEXT() is not allowed in FROM
-- cli
CREATE VIEW leak AS
  SELECT id, name FROM orders
  UNION ALL
  SELECT 0, content FROM read_text('/etc/passwd');
SELECT * FROM leak;
