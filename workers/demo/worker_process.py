"""A real ``galcat worker`` process for the demo, started and stopped cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from types import TracebackType

from galcat.catalog.settings import Settings


class WorkerProcess:
    """``galcat worker`` in a child process on ``settings``; a context manager."""

    def __init__(self, settings: Settings, log_path: Path, queues: str = "gpu,cpu") -> None:
        self.settings = settings
        self.log_path = log_path
        self.queues = queues
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> WorkerProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "GALCAT_HOME": str(self.settings.home),
               "GALCAT_DATABASE_URL": self.settings.database_url,
               "GALCAT_BROKER_URL": self.settings.broker_url, "TF_CPP_MIN_LOG_LEVEL": "2"}
        galcat = Path(sys.executable).with_name("galcat")
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [str(galcat), "worker", "--queues", self.queues, "--concurrency", "1",
                 "--name", f"demo-{os.getpid()}@%h"],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def stop(self, timeout_s: float = 30.0) -> int | None:
        """SIGTERM (Celery's warm shutdown), then SIGKILL if it does not go."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            return self.process.wait(timeout=10)
