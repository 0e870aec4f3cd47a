"""What an ingest did to each file: loaded, merged, or refused and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class FileOutcome:
    """The result of ingesting one file."""

    path: str
    rows_loaded: int = 0
    rows_merged: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def refused_by_database(self, path: str | Path, exc: Exception) -> None:
        """Record that the database refused ``path`` (first line of the error only)."""
        text = str(exc).strip()
        self.errors.append(f"{path}: database refused the file: "
                           f"{text.splitlines()[0] if text else type(exc).__name__}")


@dataclass
class IngestSummary:
    """Outcomes of one ingest command over many files."""

    files: list[FileOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def failed(self) -> list[FileOutcome]:
        return [f for f in self.files if not f.ok]

    def describe(self) -> str:
        """One line: how many files and rows loaded or already there, how many refused."""
        good = len(self.files) - len(self.failed)
        text = f"{good} of {len(self.files)} files loaded ({self.rows_loaded} new rows"
        merged = sum(f.rows_merged for f in self.files)
        text += f", {merged} already in the catalogue)" if merged else ")"
        if self.failed:
            text += f"; {len(self.failed)} refused and rolled back"
        return text
