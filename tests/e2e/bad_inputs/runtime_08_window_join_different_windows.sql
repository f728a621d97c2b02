-- A window join of two window TVFs whose windows differ.
-- kind: ValidationError
-- error: Validation error: a window join needs the same window on both inputs; they have TUMBLE(ts, size=60000 ms) and TUMBLE(ts, size=300000 ms) (line 5, column 6)
-- error: Hint: use the same TUMBLE / HOP / CUMULATE sizes (and offset) on both sides
-- cli
SET 'execution.runtime-mode' = 'streaming';
SELECT L.url, R.url AS other
FROM (SELECT * FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE))) AS L
JOIN (SELECT * FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '5' MINUTE))) AS R
  ON L.id = R.id AND L.window_start = R.window_start AND L.window_end = R.window_end;
