"""FlowSQL's Postgres wire protocol face: psql, JDBC/psycopg/asyncpg drivers and BI tools.

``server.PgServer`` is the entry point; see ``connection`` for the protocol contract,
``router`` for where statements go and ``mirror`` for catalog introspection.
"""
