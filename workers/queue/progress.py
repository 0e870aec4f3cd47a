"""A live progress bar for a job (rich)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol, TypeVar

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class Status(Protocol):
    """What the bar reads of a job's status."""

    @property
    def kind(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def done(self) -> int: ...
    @property
    def total(self) -> int: ...
    @property
    def message(self) -> str | None: ...
    @property
    def final(self) -> bool: ...


S = TypeVar("S", bound=Status)


def watch(job_id: int, status: Callable[[], S], timeout_s: float | None = None,
          poll_s: float = 0.2) -> S:
    """Poll ``status()`` of job ``job_id`` until it ends, drawing its progress."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    columns = (TextColumn("job {task.fields[job]} {task.fields[kind]}"), BarColumn(),
               MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("{task.fields[note]}"))
    with Progress(*columns, transient=False) as bar:
        state = status()
        task = bar.add_task("", total=state.total or None, job=job_id, kind=state.kind,
                            note=state.state)
        while True:
            note = state.message or state.state
            bar.update(task, completed=state.done, total=state.total or None,
                       note=f"{state.state}: {note}"[:60])
            if state.final:
                return state
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {state.state} after {timeout_s} s")
            time.sleep(poll_s)
            state = status()
