-- A streaming window TVF whose DESCRIPTOR names a column that is not the event-time attribute.
-- kind: ValidationError
-- error: Validation error: the window time column 'id' is not an event-time attribute nor a processing-time attribute (line 3, column 44)
-- error: Hint: declare WATERMARK FOR <column> AS <column> - INTERVAL '...' SECOND on the source table (event time), or window on a PROCTIME() column, e.g. p AS PROCTIME() (processing time)
-- cli
SET 'execution.runtime-mode' = 'streaming';
SELECT window_start, COUNT(*) AS clicks
FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(id), INTERVAL '10' SECOND))
GROUP BY window_start, window_end;
