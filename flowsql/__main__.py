"""``python -m flowsql``: the same command line as the ``flowsql`` script."""

from flowsql.cli import main

if __name__ == "__main__":
    main()
