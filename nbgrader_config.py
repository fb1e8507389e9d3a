"""nbgrader configuration of the course: run every ``nbgrader`` command from this folder.

Layout: sources (instructor notebooks with solutions and hidden tests) in ``solutions/``,
the student release in ``assignments/`` (committed), and everything produced by grading
under ``autograder/`` (git-ignored: it holds student work and the hidden tests).
The five holes of stock nbgrader 0.9.6 are closed here; see ``autograder/nbgrader_plugins.py``
and docs/grading.md.
"""

import os

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from autograder.nbgrader_plugins import (
    WARNING_PATTERN,
    LmsFileNameCollector,
    RedactHiddenTests,
    RestoreMissingCells,
    StripStudentTags,
)
from autograder.outside import ExecuteWithChecks
from autograder.sandbox import configure as configure_sandbox

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = "cnn-course"
# The course root is the folder of this file, wherever nbgrader or the formgrader starts.
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.submitted_directory = "autograder/submitted"
c.CourseDirectory.autograded_directory = "autograder/autograded"
c.CourseDirectory.feedback_directory = "autograder/feedback"
c.CourseDirectory.solution_directory = "autograder/solution"
c.CourseDirectory.source_with_tests_directory = "autograder/source_with_tests"
c.CourseDirectory.db_url = "sqlite:///autograder/gradebook.db"
# The grader-side checks (solutions/<id>/checks.py) are never copied into a release, an autograded
# folder (the kernel's working folder) or feedback.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "checks.py",
                            ".grading"]
c.ZipCollectApp.downloaded_directory = "autograder/downloaded"

# Students are created on the fly when their submission is autograded.
c.Autograde.create_student = True

# Hole 1: stderr from a warning or a progress bar must not fail a correct test cell.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = WARNING_PATTERN

# Hole 2: a student's cell tags (skip-execution, raises-exception, ...) are stripped before
# execution, after the test cells have been restored from the gradebook.
c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    DeduplicateIds,
    OverwriteKernelspec,
    RestoreMissingCells,
    StripStudentTags,
    CheckCellMetadata,
]

# Hole 3: feedback shows hidden tests' names and points, never their code or tracebacks.
c.GenerateFeedback.preprocessors = [GetGrades, RedactHiddenTests, CSSHTMLHeaderPreprocessor]
c.RedactHiddenTests.enabled = True

# Hole 4: a deleted test cell is put back and graded instead of "needs manual grade" forever
# (RestoreMissingCells: also when the notebook was stripped of all nbgrader metadata).
c.OverwriteCells.add_missing_cells = True

# Hole 5: LMS downloads named <student>_<YYYY-MM-DD-HH-MM-SS>_<notebook>.ipynb.
c.ZipCollectApp.collector_plugin = LmsFileNameCollector
c.ZipCollectApp.archive_directory = "archive"

# Verdicts outside the kernel (autograder/outside.py): nbgrader's Execute is replaced by one that
# runs each graded cell's probe in the kernel and decides its points here, from plain-data records,
# with the checks in solutions/<id>/checks.py. Same list as nbgrader's default otherwise.
c.Autograde.autograde_preprocessors = [
    ExecuteWithChecks,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
c.ExecuteWithChecks.checks_directory = os.path.join(c.CourseDirectory.root, "solutions")

# Links planted in a submission (or left in an autograded folder) are removed before nbgrader copies
# the folder's files, which would follow them on the host.
c.Autograde.pre_convert_hook = "autograder.outside.drop_links"
c.GenerateFeedback.pre_convert_hook = "autograder.outside.drop_links"

# Execution: the course's kernel, a per-cell timeout (ExecuteWithChecks inherits Execute's config).
c.Execute.timeout = 120
c.Execute.startup_timeout = 120

# Sandbox and limits (autograder/sandbox.py): every student kernel that nbgrader starts from this
# root (CLI, plain `nbgrader autograde`, formgrader) is the `cnn-course-sandbox` kernel: bubblewrap
# (no network, no view of solutions/, autograder/, the gradebook or other students) with a memory
# limit, a CPU-time limit and a wall-clock limit per notebook. Without bwrap it warns and runs
# unsandboxed with the limits; `python -m autograder grade --memory-mb ...` overrides the values.
configure_sandbox(c, memory_mb=3072, cpu_seconds=300, wall_seconds=600)
