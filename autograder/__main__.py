"""``python -m autograder``: the course's grading CLI (see ``autograder/cli.py``)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
