"""Public catalogue releases: definitions, pinned queries, streaming writers, records.

``make_release`` writes and records a frozen release; ``export_release`` rewrites
it byte for byte; ``list_releases`` and ``diff_releases`` read the records.
"""

from galcat.catalog.release.build import (
    FileRecord,
    ReleaseError,
    ReleaseExists,
    ReleaseRecord,
    export_release,
    list_releases,
    load_release,
    make_release,
)
from galcat.catalog.release.definitions import CATALOGUES, catalogue
from galcat.catalog.release.diff import TableDiff, diff_releases

__all__ = [
    "CATALOGUES",
    "FileRecord",
    "ReleaseError",
    "ReleaseExists",
    "ReleaseRecord",
    "TableDiff",
    "catalogue",
    "diff_releases",
    "export_release",
    "list_releases",
    "load_release",
    "make_release",
]
