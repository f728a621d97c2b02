"""physical: the JobGraph, the plain-data contract between the planner and the runtime.

:mod:`flowsql.physical.graph` (JobGraph, OperatorSpec, Edge, chains, EXPLAIN text) and
:mod:`flowsql.physical.serde` (JSON) import nothing but :mod:`flowsql.errors`. The planner
produces a graph (:mod:`flowsql.planner.translate`); the runtime deploys it. Both import this
package downward; it imports neither (``tests/test_layering.py``).
"""
