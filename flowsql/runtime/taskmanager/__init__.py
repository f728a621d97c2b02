"""TaskManager side of the runtime: slots, tasks (operator chains), channels, watermarks."""
