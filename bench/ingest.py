"""Ingest bench: files/s of ``galcat ingest spectra`` and ``ingest images`` against reading
the files alone.

M mock BOSS spec files and K mock galaxy cutouts (FITS with WCS) are written once. In
the same run, for each kind:

1. the floor: every file read, hashed and parsed (``read_spectrum`` / ``read_group``),
   nothing written;
2. ingest into a fresh catalogue (SQLite, and PostgreSQL when reachable);
3. the same files again (every one already in: hashed, looked up, skipped).

Files/s of each, and 2 and 3 as a fraction of 1: how close the ingest comes to the cost
of merely reading its input.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from bench.common import (
    BackendUnavailable,
    Report,
    add_backend_options,
    load_average,
    machine_note,
    positive_int,
    server_version,
    temporary_postgres,
    temporary_sqlite,
    timed,
)

DESCRIPTION = "spectrum and image ingest files/s, first load and rerun, against reading alone"
EPILOG = """\
Example: python -m bench ingest --quick

examples:
  python -m bench ingest                    # 1000 mock spec files, SQLite and PostgreSQL
  python -m bench ingest --files 3000 --no-postgres
"""


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench ingest", description=DESCRIPTION,
                                     epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=positive_int, default=1000, metavar="M",
                        help="mock spec files (default %(default)s)")
    parser.add_argument("--images", type=positive_int, default=600, metavar="K",
                        help="mock galaxy cutouts (default %(default)s)")
    parser.add_argument("--quick", action="store_true", help="100 files of each kind")
    add_backend_options(parser)
    args = parser.parse_args(list(argv))
    if args.quick:
        args.files = args.images = 100
    return args


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    from galcat.catalog.formats.image_groups import group_files, read_group
    from galcat.catalog.formats.spectra import read_file_bytes, read_spectrum
    from galcat.catalog.ingest.images import ingest_images
    from galcat.catalog.ingest.spectra import ingest_spectra
    from galcat.workers.dla.mock_files import write_mock_spectra
    from galcat.workers.galaxy.scan import write_mock_galaxies

    notes = [machine_note(), f"at the start: {load_average()}"]
    report = Report("Spectrum ingest: files/s", notes)
    with tempfile.TemporaryDirectory(prefix="galcat-bench-ingest-") as folder:
        tmp = Path(folder)
        spectra = tmp / "spectra"
        print(f"[files] writing {args.files:_} mock spec files ...", flush=True)
        write_mock_spectra(args.files, spectra, args.seed, show_progress=False)
        files = sorted(spectra.glob("spec-*.fits"))
        n = len(files)
        floor_s, _ = timed(lambda: [read_spectrum(p, content=read_file_bytes(p)) for p in files])
        floor = n / floor_s
        report.add("spectra: read + hash + parse, nothing written", "-", f"{floor:.0f}/s")
        print(f"[files] writing {args.images:_} mock galaxy cutouts ...", flush=True)
        images, _truth = write_mock_galaxies(args.images, tmp / "images", args.seed)
        groups, _ = group_files(images)
        image_floor = len(images) / timed(lambda: [read_group(g) for g in groups])[0]
        report.add("images: read + hash + parse, nothing written", "-", f"{image_floor:.0f}/s")
        backends = []
        if not args.no_postgres:
            backends.append(("PostgreSQL", lambda: temporary_postgres(args.postgres_url)))
        backends.append(("SQLite", lambda: temporary_sqlite(tmp)))
        for label, open_backend in backends:
            try:
                with open_backend() as db:
                    if label == "PostgreSQL":
                        notes.append(server_version(db))
                    print(f"[{label}] ingest ...", flush=True)
                    first_s, summary = timed(partial(ingest_spectra, db, [spectra]))
                    again_s, _ = timed(partial(ingest_spectra, db, [spectra]))
            except BackendUnavailable as exc:
                notes.append(f"{label} skipped: {exc}")
                continue
            if not summary.ok or summary.rows_loaded != n:
                print(f"[{label}] ingest FAILED: {summary.describe()}", flush=True)
                return 1
            report.add("ingest spectra, new files", label, f"{n / first_s:.0f}/s",
                       f"read alone {floor:.0f}/s", (n / first_s) / floor)
            report.add("ingest spectra, all already in", label, f"{n / again_s:.0f}/s",
                       f"read alone {floor:.0f}/s", (n / again_s) / floor)
            with open_backend() as db:
                print(f"[{label}] ingest images ...", flush=True)
                image_s, image_summary = timed(partial(ingest_images, db, images))
            if not image_summary.ok:
                print(f"[{label}] image ingest FAILED: {image_summary.describe()}", flush=True)
                return 1
            rate = len(images) / image_s
            report.add("ingest images, new files", label, f"{rate:.0f}/s",
                       f"read alone {image_floor:.0f}/s", rate / image_floor)
    notes.append(f"{n} mock BOSS spec files and {args.images} mock galaxy cutouts "
                 f"(seed {args.seed}); at the end: {load_average()}")
    print()
    print(report.markdown())
    return 0
