"""Screenshots of the service's pages for docs/screenshots/, taken in headless Chromium.

    python -m bench.screenshots [--out docs/screenshots]

Serves the test suite's sample catalogue (``bench.fixtures.synthetic``, with pixels
from ``bench.fixtures.object_pixels``; morphology release DR1 and DLA release DLA1)
from a temporary SQLite file, opens the index, a release page, the TAP page, an
absorber's page and a galaxy's page, fails on any console error or image that does
not load, and writes one PNG per page. ``tests/test_pages_browser.py`` makes the same
checks with screenshots into a temporary folder.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench.browser import chromium_missing, open_browser, screenshot, visit
from bench.fixtures.object_pixels import ObjectPixels, add_object_pixels
from bench.fixtures.synthetic import sample_catalogue

FIXED_TIME = datetime(2025, 1, 1, tzinfo=UTC)


def service_pages(pixels: ObjectPixels) -> dict[str, str]:
    """Screenshot name -> path on the sample service (releases DR1 and DLA1)."""
    return {"index": "/", "release": "/releases/DLA1", "tap": "/tap",
            "absorber": f"/releases/DLA1/objects/{pixels.absorbers[0]}",
            "galaxy": f"/releases/DR1/objects/{next(iter(pixels.galaxies))}"}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.screenshots", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"),
                        help="folder for the PNGs (default docs/screenshots)")
    args = parser.parse_args(argv)
    missing = chromium_missing()
    if missing:
        print(missing, file=sys.stderr)
        return 2
    from galcat.catalog import migrate
    from galcat.catalog.db import Database
    from galcat.catalog.release import make_release
    from galcat.catalog.service import make_server, serve_in_thread
    from galcat.workers.service_views import science_views

    failed = False
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        db = Database.for_url(f"sqlite:///{tmp / 'galcat.sqlite'}")
        migrate.upgrade(db)
        sample = sample_catalogue(db)
        pixels = add_object_pixels(db, sample)
        make_release(db, "morphology", "DR1", tmp / "DR1", now=FIXED_TIME,
                     models=[sample.references["morphology-old"]])
        make_release(db, "dla", "DLA1", tmp / "DLA1", formats="csv", now=FIXED_TIME)
        server = make_server(db, quiet=True, object_views=science_views())
        serve_in_thread(server)
        driver = open_browser()
        try:
            for name, path in service_pages(pixels).items():
                check = visit(driver, f"http://127.0.0.1:{server.server_port}{path}")
                for problem in [*check.console_errors, *check.broken_images]:
                    print(f"{path}: {problem}", file=sys.stderr)
                    failed = True
                print(screenshot(driver, args.out / f"{name}.png"))
        finally:
            driver.quit()
            server.shutdown()
            server.server_close()
            server.service.engine.dispose()
            db.dispose()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
