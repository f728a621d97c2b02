-- A scalar subquery that can return more than one row.
-- kind: NotSupportedError
-- error: Not supported yet: the scalar subquery (SELECT amount FROM orders WHERE name = 'pen') may return more than one row (it is not an aggregate without GROUP BY)
-- error: Hint: select one aggregate, e.g. (SELECT MAX(price) FROM bid b2 WHERE b2.auction = b.auction), or use IN / EXISTS, or a join
-- cli
SET 'execution.runtime-mode' = 'streaming';
SELECT name, amount FROM orders
WHERE amount > (SELECT amount FROM orders WHERE name = 'pen');
