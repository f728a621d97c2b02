-- A computed column that tries to read a file.
-- kind: ValidationError
-- error: Validation error: function READ_TEXT() is not allowed
CREATE TABLE t (id BIGINT, name STRING, amount BIGINT, secret AS read_text('/etc/passwd'))
  WITH ('connector' = 'filesystem', 'path' = '${DATA}/orders.csv', 'format' = 'csv');
SELECT * FROM t;
