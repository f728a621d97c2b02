-- CREATE TABLE of a name that exists.
-- kind: CatalogError
-- error: Catalog error: Table 'orders' already exists in default_catalog.default_database
-- error: Hint: use CREATE TABLE IF NOT EXISTS, or DROP TABLE `orders` first; to rerun scripts as on Flink's in-memory catalog, start the shell with `flowsql shell --catalog memory` or SET 'table.catalog.default.kind' = 'memory'
CREATE TABLE orders (a INT) WITH ('connector' = 'datagen');
