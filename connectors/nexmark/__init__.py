"""The Nexmark benchmark generator connector (``'connector' = 'nexmark'``)."""
