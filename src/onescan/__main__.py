"""``python -m onescan``: the command line (same as the ``onescan`` script)."""

from onescan.cli import main

if __name__ == "__main__":
    main()
