"""FlowSQL's persistent catalog: databases, tables and views with their connector options."""
