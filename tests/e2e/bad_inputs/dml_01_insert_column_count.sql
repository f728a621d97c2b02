-- INSERT INTO with fewer columns than the target has.
-- kind: ValidationError
-- error: Validation error: column count mismatch in INSERT INTO order_totals: the query produces 1 column(s), the target expects 2 (name, total)
-- cli
CREATE TABLE order_totals (name STRING, total BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO order_totals SELECT name FROM orders;
