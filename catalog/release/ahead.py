"""Items of an iterator made in a second thread, a few ahead of the one using them.

The release readers use it so that the database keeps working (SQLite's engine runs
with the GIL released; PostgreSQL keeps filling the socket) while the calling thread
turns the previous rows into arrays and writes them.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import suppress
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Ahead(Generic[T]):
    """``with Ahead(produce) as items``: the items of ``produce()``, made in a second
    thread at most ``ahead`` in advance. Its exceptions are raised here; leaving the
    block early stops it (and closes the iterator, in its own thread)."""

    def __init__(self, produce: Callable[[], Iterator[T]], ahead: int = 2) -> None:
        self._produce = produce
        self._items: queue.Queue[tuple[str, Any]] = queue.Queue(ahead)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="galcat-release-read",
                                        daemon=True)

    def __enter__(self) -> Iterator[T]:
        self._thread.start()
        return self._drain()

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        while self._thread.is_alive():
            with suppress(queue.Empty):
                self._items.get(timeout=0.05)
        self._thread.join()

    def _drain(self) -> Iterator[T]:
        while True:
            kind, item = self._items.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item

    def _run(self) -> None:
        items = self._produce()
        try:
            for item in items:
                if not self._put("item", item):
                    return
            self._put("end", None)
        except BaseException as exc:  # handed to the reading thread
            self._put("error", exc)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    def _put(self, kind: str, item: Any) -> bool:
        while not self._stop.is_set():
            with suppress(queue.Full):
                self._items.put((kind, item), timeout=0.05)
                return True
        return False
