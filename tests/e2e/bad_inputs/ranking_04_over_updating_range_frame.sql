-- An OVER aggregation with a RANGE frame (here the default one) over an updating input.
-- kind: NotSupportedError
-- error: Not supported yet: a RANGE frame over an updating input (line 2, column 52) — an OVER window without a frame is RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
-- error: Hint: ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW (or N PRECEDING)
SET 'execution.runtime-mode' = 'streaming';
SELECT url, SUM(n) OVER (PARTITION BY url ORDER BY n) AS s
FROM (SELECT url, id, COUNT(*) AS n FROM clicks GROUP BY url, id);
