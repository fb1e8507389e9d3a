"""``python -m autograder.sandbox -f CONNECTION_FILE``: the sandbox kernel's launcher."""

import sys

from .launcher import main

sys.exit(main())
