"""Rewrite rules, data first: input/expected plan pairs in ``fixtures/rules.txt``."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from flowsql.planner.builder import PlanBuilder
from flowsql.planner.logical import explain_plan
from flowsql.planner.rules import RuleContext, optimize
from flowsql.sql.parser import parse_query

DDL = (
    "CREATE TABLE t (k INT, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) "
    "WITH ('connector' = 'datagen', 'number-of-rows' = '10')"
)


def _cases() -> list[tuple[str, str, str, str]]:
    text = (Path(__file__).parent / "fixtures" / "rules.txt").read_text()
    cases = []
    for block in text.split("== rule: ")[1:]:
        head, rest = block.split("\n", 1)
        sql, before, after = (p.strip() for p in rest.split("\n--\n"))
        cases.append((head.strip(), sql, before, after))
    return cases


@pytest.mark.parametrize("rule, sql, before, after", _cases(), ids=lambda v: v if isinstance(v, str) and " " not in v else None)
def test_rule(session, rule, sql, before, after):
    session.execute_one(DDL)
    plan = PlanBuilder(session.catalog, session.config).query(parse_query(sql))
    assert explain_plan(plan) == before
    module = importlib.import_module(f"flowsql.planner.rules.{rule}")
    assert explain_plan(module.apply(plan, RuleContext())) == after


def test_rules_are_idempotent(session):
    session.execute_one(DDL)
    plan = PlanBuilder(session.catalog, session.config).query(
        parse_query("SELECT k, COUNT(*) AS c FROM t WHERE v > 1 GROUP BY k")
    )
    once = optimize(plan)
    assert explain_plan(optimize(once)) == explain_plan(once)


def test_two_phase_only_with_parallelism(session):
    session.execute_one(DDL)
    sql = ("SELECT k, window_start, window_end, SUM(v) AS s FROM TABLE(TUMBLE(TABLE t, "
           "DESCRIPTOR(ts), INTERVAL '1' SECOND)) GROUP BY k, window_start, window_end")
    plan = PlanBuilder(session.catalog, session.config).query(parse_query(sql))
    assert "LocalGlobal" not in explain_plan(optimize(plan, RuleContext(parallelism=1)))
    assert "LocalGlobal" in explain_plan(optimize(plan, RuleContext(parallelism=2)))


def test_group_by_two_phase_only_with_parallelism_and_mergeable_aggregates(session):
    session.execute_one(DDL)

    def split(sql: str, parallelism: int) -> bool:
        plan = PlanBuilder(session.catalog, session.config).query(parse_query(sql))
        return "LocalGlobalGroupAggregate" in explain_plan(
            optimize(plan, RuleContext(parallelism=parallelism)))

    sql = "SELECT k, COUNT(*) AS c, SUM(v) AS s, MAX(v) AS m FROM t GROUP BY k"
    assert split(sql, 2) and not split(sql, 1)
    assert split("SELECT COUNT(*) AS c FROM t", 2)  # keyed by a constant at parallelism > 1
    assert not split("SELECT k, COUNT(DISTINCT v) AS c FROM t GROUP BY k", 2)
    assert not split("SELECT k, FIRST_VALUE(v) AS f FROM t GROUP BY k", 2)
