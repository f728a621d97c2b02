-- A window TVF whose DESCRIPTOR names a column that is not a timestamp (batch mode).
-- kind: ValidationError
-- error: Validation error: the TUMBLE window's time column 'amount' is BIGINT, not a TIMESTAMP (line 2, column 44)
-- error: Hint: DESCRIPTOR(...) must name a TIMESTAMP(p) or TIMESTAMP_LTZ(p) column (in streaming mode: the event-time attribute of a WATERMARK)
SELECT window_start, SUM(amount) AS total
FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(amount), INTERVAL '10' SECOND))
GROUP BY window_start, window_end;
