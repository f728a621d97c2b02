-- CREATE TABLE of a name that exists.
-- kind: CatalogError
-- error: Catalog error: Table 'orders' already exists in default_catalog.default_database
-- error: Hint: use CREATE TABLE IF NOT EXISTS, or DROP TABLE `orders` first
CREATE TABLE orders (a INT) WITH ('connector' = 'datagen');
