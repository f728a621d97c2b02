-- CAST of a literal that is not a number (fails when the query runs).
-- kind: ExecutionError
-- error: Execution error: conversion failed: Could not convert string 'abc' to INT
SELECT CAST('abc' AS INT) FROM orders;
