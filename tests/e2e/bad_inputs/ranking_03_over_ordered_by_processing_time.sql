-- An OVER aggregation ordered by a processing-time attribute (Flink runs it; FlowSQL not yet).
-- kind: NotSupportedError
-- error: Not supported yet: an OVER window ordered by the processing-time attribute 'p' (line 2, column 53)
-- error: Hint: ORDER BY an event-time attribute (a column with a WATERMARK)
SET 'execution.runtime-mode' = 'streaming';
SELECT id, COUNT(*) OVER (PARTITION BY url ORDER BY p) AS c
FROM (SELECT *, PROCTIME() AS p FROM clicks);
