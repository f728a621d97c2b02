"""Runtime: the JobManager/TaskManager MiniCluster that runs JobGraphs."""
