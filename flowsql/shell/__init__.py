"""The SQL shell: prompt (repl.py), input scanning (scanner.py), shell commands (commands.py),
running statements with Ctrl-C cancellation (runner.py), completion (completer.py) and
rendering of results and errors (render.py)."""
