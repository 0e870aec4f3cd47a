"""Bad input, located: which file, which row, which column, and what to do."""

from __future__ import annotations

from pathlib import Path

MAX_ERRORS_LISTED = 10
"""At most this many located errors are reported for one file."""


class InputError(Exception):
    """Bad input, located: which file, which row (1-based data row), which column."""

    def __init__(
        self, path: str | Path, message: str, row: int | None = None, column: str | None = None
    ) -> None:
        self.path = str(path)
        self.row = row
        self.column = column
        self.message = message
        where = self.path
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {message}")


class InputErrors(Exception):
    """Several located errors in one file (at most :data:`MAX_ERRORS_LISTED`, then a count)."""

    def __init__(self, errors: list[InputError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))

    @classmethod
    def listing(cls, path: str | Path, errors: list[InputError]) -> InputErrors:
        """The first :data:`MAX_ERRORS_LISTED` errors, and how many more there were."""
        listed = errors[:MAX_ERRORS_LISTED]
        extra = len(errors) - MAX_ERRORS_LISTED
        if extra > 0:
            listed.append(InputError(path, f"... and {extra} more errors"))
        return cls(listed)
