-- An OVER aggregation ordered by a processing-time attribute descending (time runs forward only).
-- kind: ValidationError
-- error: OVER windows' ordering in stream mode must be defined on a time attribute (line 2, column 53)
-- error: Hint: ORDER BY the event-time column (WATERMARK FOR …), ascending
SET 'execution.runtime-mode' = 'streaming';
SELECT id, COUNT(*) OVER (PARTITION BY url ORDER BY p DESC) AS c
FROM (SELECT *, PROCTIME() AS p FROM clicks);
