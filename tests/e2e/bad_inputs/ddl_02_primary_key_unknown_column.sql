-- A PRIMARY KEY on a column the table does not have.
-- kind: ValidationError
-- error: Validation error: PRIMARY KEY column 'b' is not defined in table 't'
-- error: Hint: available columns: a
CREATE TABLE t (a INT, PRIMARY KEY (b) NOT ENFORCED) WITH ('connector' = 'datagen');
