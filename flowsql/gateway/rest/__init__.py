"""Flink's SQL Gateway REST API (v1 to v4) over the gateway core, with FlowSQL's extensions.

Today's contract: :func:`flowsql.gateway.rest.app.create_app` builds the FastAPI app; the
modules here each hold one concept (API versions, request/response models, logical types,
result encoding, auth and body-limit middleware, errors, statement completion, the routes).
"""
