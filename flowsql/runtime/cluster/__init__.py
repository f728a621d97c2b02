"""FlowSQL as a cluster: JobManager and TaskManager processes, their Flight control calls, the
client a shell uses to reach a JobManager, and ``flowsql cluster start|stop|status``."""
