"""A live progress bar for a job (rich)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:
    from galcat.workers.jobs import JobHandle, JobStatus


def watch(handle: JobHandle, timeout_s: float | None = None, poll_s: float = 0.2) -> JobStatus:
    """Poll ``handle`` until it ends, drawing its progress."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    columns = (TextColumn("job {task.fields[job]} {task.fields[kind]}"), BarColumn(),
               MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("{task.fields[note]}"))
    with Progress(*columns, transient=False) as bar:
        state = handle.status()
        task = bar.add_task("", total=state.total or None, job=handle.id, kind=state.kind,
                            note=state.state)
        while True:
            note = state.message or state.state
            bar.update(task, completed=state.done, total=state.total or None,
                       note=f"{state.state}: {note}"[:60])
            if state.final:
                return state
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {handle.id} still {state.state} after {timeout_s} s")
            time.sleep(poll_s)
            state = handle.status()
