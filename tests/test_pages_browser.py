"""The pages in a real headless browser (Debian's Chromium, driven by selenium): the
index, a release page, the TAP page, an absorber's page and a galaxy's page load with
no console error and every image loaded. Screenshots go to a temporary folder;
``python -m bench.screenshots`` writes the committed ones in docs/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import unavailable
from service_fixtures import Running

from bench.browser import chromium_missing, open_browser, screenshot, visit
from bench.fixtures.object_pixels import add_object_pixels
from bench.screenshots import service_pages


@pytest.fixture
def browser() -> Iterator[Any]:
    missing = chromium_missing()
    if missing:
        unavailable(missing)
    driver = open_browser()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_pages_render_in_chromium_without_console_errors(service: Running, browser: Any,
                                                         tmp_path: Path) -> None:
    pixels = add_object_pixels(service.db, service.sample)
    for name, path in service_pages(pixels).items():
        check = visit(browser, service.base + path)
        assert check.console_errors == [], path
        assert check.broken_images == [], path
        assert check.title, path
        shot = screenshot(browser, tmp_path / f"{name}.png")
        assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 10_000
