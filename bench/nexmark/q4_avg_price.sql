-- Nexmark q4 (average price per category): the winning bid of each auction (a regular join
-- with a time condition, then MAX), averaged per category (an aggregate over an updating input).
CREATE TABLE discard_sink (
  category BIGINT, avg_final BIGINT
) WITH ('connector' = 'blackhole');

INSERT INTO discard_sink
SELECT Q.category, AVG(Q.final)
FROM (
    SELECT MAX(B.price) AS final, A.category
    FROM auction A, bid B
    WHERE A.id = B.auction AND B.`dateTime` BETWEEN A.`dateTime` AND A.expires
    GROUP BY A.id, A.category
) Q
GROUP BY Q.category;
