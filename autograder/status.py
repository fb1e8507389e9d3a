"""Grading status of each (assignment, student): a table next to nbgrader's in the gradebook.

A row is written (in its own transaction) only after nbgrader has committed the submission's
grades, so it is the completion marker that makes ``grade`` resumable: a submission without a
row, or whose files changed since (``submission_hash``), is graded again; one with a row is
not. Keeping it in the gradebook database means several grading hosts sharing one PostgreSQL
gradebook also share the status, and ``export`` reads failures (with their reason) from it.
"""

from __future__ import annotations

import datetime as dt
import socket
from dataclasses import dataclass
from enum import Enum

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    insert,
    select,
)


class State(str, Enum):
    """What grading did with one submission: the only status words the grader writes.

    *Graded* states keep the points nbgrader gave (a cell that timed out or ran out of memory
    scored 0 by itself); *zeroed* states set every autograded item to 0. Every state but ``OK``
    is flagged by ``export`` with its reason.
    """

    OK = "ok"                              # graded normally
    CELL_TIMEOUT = "cell-timeout"          # graded; a cell ran past its time limit
    MEMORY = "memory"                      # graded; a cell hit the memory limit
    KERNEL_DIED = "kernel-died"            # zeroed: the kernel exited, was killed or lost its sandbox
    UNRESPONSIVE = "kernel-unresponsive"   # zeroed: the kernel ignored the interrupt after a timeout
    INVALID_NOTEBOOK = "invalid-notebook"  # zeroed: the file is not a notebook (no kernel started)
    MISSING_NOTEBOOK = "missing-notebook"  # zeroed: no expected notebook (renamed?)
    ERROR = "error"                        # zeroed: nbgrader or the grader failed otherwise

    @property
    def zeroed(self) -> bool:
        return self not in (State.OK, State.CELL_TIMEOUT, State.MEMORY)


OK = State.OK.value

_metadata = MetaData()
status_table = Table(
    "autograder_status", _metadata,
    Column("assignment_id", String(128), primary_key=True),
    Column("student_id", String(128), primary_key=True),
    Column("status", String(32), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("score", Float),
    Column("max_score", Float),
    Column("submission_hash", String(64), nullable=False, default=""),
    Column("host", String(128), nullable=False, default=""),
    Column("seconds", Float),
    Column("updated_at", DateTime, nullable=False),
)
#: the submission whose feedback was last released to the exchange, per (assignment, student):
#: what makes ``watch`` release each submission's feedback at most once, across restarts
released_table = Table(
    "autograder_feedback_released", _metadata,
    Column("assignment_id", String(128), primary_key=True),
    Column("student_id", String(128), primary_key=True),
    Column("submission_hash", String(64), nullable=False),
    Column("released_at", DateTime, nullable=False),
)


@dataclass
class Status:
    assignment_id: str
    student_id: str
    status: str
    reason: str = ""
    score: float | None = None
    max_score: float | None = None
    submission_hash: str = ""
    seconds: float | None = None

    def __post_init__(self) -> None:
        self.status = State(self.status).value  # only the vocabulary above; stored as plain text

    @property
    def state(self) -> State:
        return State(self.status)


_engines: dict = {}


def engine_for(db_url: str):
    if db_url not in _engines:
        engine = create_engine(db_url, future=True)
        _metadata.create_all(engine)
        _engines[db_url] = engine
    return _engines[db_url]


def dispose() -> None:
    """Drop pooled connections (before forking workers)."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def write(db_url: str, status: Status) -> None:
    """Replace the row of (assignment, student) atomically."""
    row = dict(vars(status), host=socket.gethostname(), updated_at=dt.datetime.now())
    with engine_for(db_url).begin() as connection:
        connection.execute(delete(status_table).where(
            status_table.c.assignment_id == status.assignment_id,
            status_table.c.student_id == status.student_id))
        connection.execute(insert(status_table).values(**row))


def read_all(db_url: str, assignment_id: str) -> dict[str, Status]:
    """student id -> Status for one assignment."""
    with engine_for(db_url).connect() as connection:
        rows = connection.execute(select(status_table).where(
            status_table.c.assignment_id == assignment_id)).mappings().all()
    fields = Status.__dataclass_fields__
    return {row["student_id"]: Status(**{k: _known(row, k) for k in fields}) for row in rows}


def _known(row, field: str):
    """A row's value; a status word this version does not write (an older gradebook's
    ``timeout``) reads as ``error``, so that ``--retry-failed`` regrades it."""
    value = row[field]
    if field == "status" and value not in {state.value for state in State}:
        return State.ERROR.value
    return value


def clear(db_url: str, assignment_id: str, students: list[str] | None = None) -> None:
    """Forget statuses (``grade --force``)."""
    query = delete(status_table).where(status_table.c.assignment_id == assignment_id)
    if students is not None:
        query = query.where(status_table.c.student_id.in_(students))
    with engine_for(db_url).begin() as connection:
        connection.execute(query)


def read_released(db_url: str, assignment_id: str) -> dict[str, str]:
    """student id -> hash of the submission whose feedback was released."""
    with engine_for(db_url).connect() as connection:
        rows = connection.execute(select(released_table).where(
            released_table.c.assignment_id == assignment_id)).mappings().all()
    return {row["student_id"]: row["submission_hash"] for row in rows}


def write_released(db_url: str, assignment_id: str, student_id: str, submission_hash: str) -> None:
    with engine_for(db_url).begin() as connection:
        connection.execute(delete(released_table).where(
            released_table.c.assignment_id == assignment_id, released_table.c.student_id == student_id))
        connection.execute(insert(released_table).values(
            assignment_id=assignment_id, student_id=student_id, submission_hash=submission_hash,
            released_at=dt.datetime.now()))
