-- An OVER aggregation ordered by a column that is not the event-time attribute.
-- kind: ValidationError
-- error: Validation error: OVER windows' ordering in stream mode must be defined on a time attribute (line 2, column 52)
-- error: Hint: ORDER BY the event-time column (WATERMARK FOR …), ascending
-- cli
SET 'execution.runtime-mode' = 'streaming';
SELECT id, SUM(id) OVER (PARTITION BY url ORDER BY id) AS s
FROM clicks;
