-- A processing-time window TVF that is not aggregated (a window table function).
-- kind: NotSupportedError
-- error: Not supported yet: a processing-time window TVF without GROUP BY window_start, window_end (window table function, window join)
-- error: Hint: aggregate the windows (... GROUP BY window_start, window_end), or window on an event-time attribute (a column with a WATERMARK)
-- cli
SET 'execution.runtime-mode' = 'streaming';
CREATE TEMPORARY VIEW clicks_p AS SELECT *, PROCTIME() AS p FROM clicks;
SELECT url, window_start FROM TABLE(TUMBLE(TABLE clicks_p, DESCRIPTOR(p), INTERVAL '1' MINUTE));
