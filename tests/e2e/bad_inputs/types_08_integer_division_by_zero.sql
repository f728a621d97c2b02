-- Integer division by zero (fails when the query runs, as in Flink; a DOUBLE division gives
-- Infinity instead). Both modes print the same message.
-- kind: ExecutionError
-- error: Execution error: division by zero in 'amount / (id - 2)'
-- cli
SELECT id, amount / (id - 2) AS share FROM orders;
