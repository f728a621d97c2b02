-- An OVER aggregation over an updating input with a RANGE frame that has a bounded start.
-- kind: NotSupportedError
-- error: Not supported yet: a RANGE frame over an updating input that does not start at UNBOUNDED PRECEDING (line 2, column 52)
-- error: Hint: RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW, or ROWS BETWEEN N PRECEDING AND CURRENT ROW
SET 'execution.runtime-mode' = 'streaming';
SELECT url, SUM(n) OVER (PARTITION BY url ORDER BY n RANGE BETWEEN 2 PRECEDING AND CURRENT ROW) AS s
FROM (SELECT url, id, COUNT(*) AS n FROM clicks GROUP BY url, id);
