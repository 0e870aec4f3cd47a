"""A real headless browser over the service's pages: Debian's Chromium driven by selenium
through chromedriver, with the console log read back (``goog:loggingPrefs``) and
screenshots taken through the DevTools protocol.

Used by ``tests/test_pages_browser.py`` and by ``python -m bench.screenshots``.
Install: ``apt-get install chromium chromium-driver`` and ``pip install selenium``.
"""

from __future__ import annotations

import base64
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WIDTH_PX = 1200
HEIGHT_PX = 900
MAX_SCREENSHOT_HEIGHT_PX = 2400


@dataclass(frozen=True)
class PageCheck:
    """What the browser saw on one page: its title, every console message at level
    SEVERE (errors, failed loads), and the images that did not load."""

    url: str
    title: str
    console_errors: list[str]
    broken_images: list[str]


def chromium_missing() -> str:
    """Why no headless Chromium can be driven here ("" when one can)."""
    missing = [name for name in ("chromium", "chromedriver") if shutil.which(name) is None]
    if missing:
        return (f"{' and '.join(missing)} not found: apt-get install -y chromium "
                "chromium-driver")
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed: pip install selenium"
    return ""


def open_browser(width_px: int = WIDTH_PX, height_px: int = HEIGHT_PX) -> Any:
    """A headless Chromium (selenium ``WebDriver``) that keeps its console log."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(shutil.which("chromium"))
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--hide-scrollbars",
                     "--force-device-scale-factor=1", f"--window-size={width_px},{height_px}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=str(shutil.which("chromedriver"))),
                            options=options)


def visit(driver: Any, url: str, timeout_s: float = 30.0) -> PageCheck:
    """Load ``url``, wait for it and its images, and report what the browser saw."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get_log("browser")
    driver.get(url)
    WebDriverWait(driver, timeout_s).until(
        lambda d: d.execute_script("return document.readyState") == "complete")
    broken = driver.execute_script(
        "return Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
        ".map(i => i.src)")
    errors = [f"{entry['level']}: {entry['message']}" for entry in driver.get_log("browser")
              if entry["level"] == "SEVERE"]
    return PageCheck(url, str(driver.title), errors, list(broken))


def screenshot(driver: Any, path: Path, max_height_px: int = MAX_SCREENSHOT_HEIGHT_PX) -> Path:
    """The current page from its top, at most ``max_height_px`` tall, as a PNG file."""
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    width = int(driver.execute_script("return document.documentElement.clientWidth"))
    height = min(int(size["height"]), max_height_px)
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))
    return path
