-- MOD with one argument (was a raw IndexError).
-- kind: ValidationError
-- error: Validation error: wrong number of arguments for MOD(): got 1
SELECT MOD(amount) FROM orders;
