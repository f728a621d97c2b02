-- INSERT of strings into a BIGINT column.
-- kind: ExecutionError
-- error: Execution error: conversion failed: Could not convert string 'alice' to BIGINT
CREATE TABLE ids (id BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO ids SELECT name FROM orders;
