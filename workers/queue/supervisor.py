"""Keeping N single-job processes alive: each slot runs in a forked child; a child that dies
while the supervisor is not stopping (a job that kills its process, the kernel's OOM killer)
is replaced, after a back-off when it keeps dying young. SIGTERM or SIGINT is passed on to
the children, and the supervisor returns once they have all ended.

The supervisor holds no threads and no open connections, so forking it is safe; a child
is killed with its supervisor (Linux ``PR_SET_PDEATHSIG``), never left running alone.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from types import FrameType

log = logging.getLogger("galcat.worker")

YOUNG_DEATH_S = 10.0
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0
POLL_S = 0.05
_PR_SET_PDEATHSIG = 1


def supervise(slots: int, run_slot: Callable[[int], int]) -> int:
    """Run ``run_slot(i)`` for each ``i`` in ``range(slots)`` in its own child process,
    replacing children that end unasked; return 0 once stopped by SIGTERM/SIGINT."""
    children: dict[int, int] = {}
    started: dict[int, float] = {}
    backoff = dict.fromkeys(range(slots), 0.0)
    due = dict.fromkeys(range(slots), 0.0)
    stopping = False

    def on_signal(signum: int, _: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)
    while True:
        now = time.monotonic()
        for slot, when in sorted(due.items()):
            if not stopping and when <= now:
                children[_fork(slot, run_slot)] = slot
                started[slot] = now
                del due[slot]
        if stopping and not children:
            return 0
        pid, status = _reap_one()
        if not pid:
            time.sleep(POLL_S)
            continue
        if pid not in children:
            continue
        slot = children.pop(pid)
        if stopping:
            continue
        lived = time.monotonic() - started[slot]
        backoff[slot] = 0.0 if lived > YOUNG_DEATH_S else min(
            MAX_BACKOFF_S, max(FIRST_BACKOFF_S, 2 * backoff[slot]))
        log.error("worker process %d (pid %d) %s after %.1f s; a new one starts in %.1f s",
                  slot, pid, describe_exit(status), lived, backoff[slot])
        due[slot] = time.monotonic() + backoff[slot]


def describe_exit(status: int) -> str:
    """``os.waitpid``'s status in words ("was killed by SIGKILL", "exited with code 137")."""
    if os.WIFSIGNALED(status):
        return f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exited with code {os.waitstatus_to_exitcode(status)}"


def _reap_one() -> tuple[int, int]:
    try:
        return os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return 0, 0


def _fork(slot: int, run_slot: Callable[[int], int]) -> int:
    parent = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, signal.SIG_DFL)
        _die_with(parent)
        code = run_slot(slot)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    except BaseException:
        log.exception("worker process %d failed", slot)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _die_with(parent: int) -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)
