"""The ``kafka`` connector and a local broker for tests and ``flowsql dev kafka``."""
