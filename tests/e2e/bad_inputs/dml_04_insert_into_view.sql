-- INSERT INTO a view.
-- kind: ValidationError
-- error: cannot INSERT INTO view `default_catalog`.`default_database`.`big_orders`; insert into a table
CREATE VIEW big_orders AS SELECT * FROM orders WHERE amount > 10;
INSERT INTO big_orders SELECT * FROM orders;
