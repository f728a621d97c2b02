-- A Python UDF that raises on one row.
-- kind: ExecutionError
-- error: Execution error: Python function 'unit_price' raised ZeroDivisionError: no units in order 2 on the row with arguments (20, 'bob')
-- error: Hint: fix the function or filter such rows out before calling it
-- cli
SET 'python.files' = '${DATA}/raising_udfs.py';
CREATE TEMPORARY FUNCTION unit_price AS 'raising_udfs.unit_price';
SELECT id, unit_price(amount, name) FROM orders;
