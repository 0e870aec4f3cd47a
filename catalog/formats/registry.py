"""File formats by suffix, which of them each kind of input reads, and finding the files.

This is the one declaration of file suffixes: the readers (:mod:`.spectra`, :mod:`.images`,
:mod:`.tables`) dispatch on :func:`file_format`, and every ingest and quick-look scan
finds its files with :func:`find_files`. A suffix is matched case-insensitively and
longest first, so ``.fits.gz`` is FITS and ``.csv.gz`` is CSV.

A file named directly is handed to its reader (which says clearly if it cannot read
it); a folder is searched recursively for the formats its kind takes from folders; a
pattern with ``* ? [`` is a glob. So ``galcat ingest spectra DIR`` and ``galcat scan dla
DIR`` see the same files.

=========  ==================================================  ========================
kind       files named directly                                from folders
=========  ==================================================  ========================
spectrum   FITS (BOSS spec, SDSS DR7 spSpec, FITS tables),      FITS
           and any table (ECSV, CSV, VOTable, Parquet, ASCII)
image      FITS, PNG, JPEG, NumPy ``.npy``                      all of those
table      FITS, VOTable, ECSV, CSV, Parquet, ASCII             all of those
=========  ==================================================  ========================
"""

from __future__ import annotations

import glob
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FileFormat:
    """One file format: its name, suffixes, and astropy.table's name for it (tables only)."""

    name: str
    suffixes: tuple[str, ...]
    astropy: str | None = None


FORMATS = (
    FileFormat("fits", (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fts.gz", ".fits.fz"),
               "fits"),
    FileFormat("votable", (".vot", ".xml", ".votable"), "votable"),
    FileFormat("ecsv", (".ecsv",), "ascii.ecsv"),
    FileFormat("csv", (".csv", ".csv.gz"), "ascii.csv"),
    FileFormat("parquet", (".parquet", ".pq"), "parquet"),
    FileFormat("ascii", (".txt", ".dat", ".ascii"), "ascii"),
    FileFormat("png", (".png",)),
    FileFormat("jpeg", (".jpg", ".jpeg")),
    FileFormat("npy", (".npy",)),
)
BY_NAME = {f.name: f for f in FORMATS}
_BY_SUFFIX = sorted(((s, f) for f in FORMATS for s in f.suffixes), key=lambda sf: -len(sf[0]))


def file_format(path: str | Path) -> FileFormat | None:
    """The format ``path``'s suffix names (None when no suffix is known)."""
    name = Path(path).name.lower()
    return next((f for suffix, f in _BY_SUFFIX if name.endswith(suffix)), None)


def strip_suffix(name: str) -> str:
    """A file name without its directory and known suffix (``a/b.fits.gz`` → ``b``)."""
    base = Path(name.replace("\\", "/")).name
    low = base.lower()
    suffix = next((s for s, _ in _BY_SUFFIX if low.endswith(s)), "")
    return base[: len(base) - len(suffix)] if suffix else base


def suffixes(*names: str) -> tuple[str, ...]:
    """Every suffix of the formats named, for messages."""
    return tuple(s for n in names for s in BY_NAME[n].suffixes)


TABLE_FORMATS = tuple(f.name for f in FORMATS if f.astropy is not None)


@dataclass(frozen=True)
class InputKind:
    """What one kind of input accepts: formats named directly, and those found in folders."""

    name: str
    formats: tuple[str, ...]
    from_folders: tuple[str, ...]

    def accepts(self, path: str | Path) -> FileFormat | None:
        """The format of ``path`` if this kind reads it, else None."""
        found = file_format(path)
        return found if found is not None and found.name in self.formats else None

    def suffixes(self) -> tuple[str, ...]:
        return tuple(s for f in FORMATS if f.name in self.formats for s in f.suffixes)


KINDS = {
    "spectrum": InputKind("spectrum", TABLE_FORMATS, ("fits",)),
    "image": InputKind("image", ("fits", "png", "jpeg", "npy"), ("fits", "png", "jpeg", "npy")),
    "table": InputKind("table", TABLE_FORMATS, TABLE_FORMATS),
}


def find_files(kind: str, paths: Iterable[str | Path]) -> list[Path]:
    """Files named directly (whatever their suffix: the reader says if it cannot read
    one), files of ``kind``'s folder formats under folders (sorted), and glob matches; each
    file once, in the order found."""
    accepts = KINDS[kind]
    found: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file()
                            and (fmt := file_format(p)) is not None
                            and fmt.name in accepts.from_folders)
        elif any(ch in str(item) for ch in "*?[") and not path.exists():
            found += sorted(Path(p) for p in glob.glob(str(item), recursive=True)
                            if Path(p).is_file())
        else:
            found.append(path)
    return list(dict.fromkeys(found))


DISPLAY_FORMATS = ("png", "jpeg")
"""Display images: pixel values are scaled colours, not photometry."""


def is_display_image(format_or_suffix: str) -> bool:
    """True for a PNG or JPEG, named by format (``png``) or suffix (``jpg``, ``.jpeg``)."""
    found = file_format(f"x.{format_or_suffix.lstrip('.')}")
    return found is not None and found.name in DISPLAY_FORMATS
