-- A streaming window over a PROCTIME() attribute (processing-time windows do not run yet).
-- kind: NotSupportedError
-- error: Not supported yet: a window over the processing-time attribute 'p' (line 3, column 17)
-- error: Hint: window on an event-time attribute (a column with a WATERMARK)
SET 'execution.runtime-mode' = 'streaming';
SELECT COUNT(*) AS clicks FROM (SELECT *, PROCTIME() AS p FROM clicks)
GROUP BY TUMBLE(p, INTERVAL '10' SECOND);
