-- INSERT INTO with a column list naming an unknown column.
-- kind: ValidationError
-- error: Validation error: unknown target column 'totl' in INSERT INTO order_totals
-- error: Hint: physical columns: name, total
CREATE TABLE order_totals (name STRING, total BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO order_totals (name, totl) SELECT name, amount FROM orders;
