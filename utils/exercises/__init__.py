"""Checks for the ungraded "your turn" exercises inside the lectures.

One module per lecture (``utils/exercises/lecture_02.py`` ...). Each check has the form
``check_<what>(answer) -> bool``: it prints one line starting with "Correct" or a list of what
is wrong and where to look, and returns whether the answer is right. It never raises on a wrong
answer, so that *Run All* goes through a lecture whose exercises are not done yet; an answer
left at its placeholder ``None`` is reported as not attempted.

Checks compare with an independent oracle (torch, an analytic result) computed inside the
check. Nothing here may define or return the answer to a graded assignment.
"""

from __future__ import annotations

NOT_ATTEMPTED = "Not attempted yet: replace the None above with your answer and run the cell again."


def verdict(problems: list[str], success: str) -> bool:
    """Print ``success`` when ``problems`` is empty, else each problem on its own line.

    problems: messages that say what is wrong and where to look; success: one sentence.
    Returns True when there are no problems.
    """
    if problems:
        print("Not yet:")
        for problem in problems:
            print(f"  - {problem}")
        return False
    print(f"Correct. {success}")
    return True


def not_attempted(answer: object) -> bool:
    """True (after printing why) when ``answer`` is still the placeholder ``None``."""
    if answer is None:
        print(NOT_ATTEMPTED)
        return True
    return False
