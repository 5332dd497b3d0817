"""Debian's Chromium driven by Playwright: headless, no downloaded browser, no background traffic.

Shared by the browser tests and `make screenshots`."""

import shutil
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's own sandbox cannot start
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-first-run",
    "--metrics-recording-only",
]


def chromium_missing() -> str:
    """Why the browser cannot run here, or '' when it can."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is not installed (apt-get install -y chromium)"
    if shutil.which("node") is None and not _playwright_driver_present():
        return "Playwright's driver is missing (pip install playwright)"
    return ""


def _playwright_driver_present() -> bool:
    try:
        import playwright
    except ImportError:
        return False
    return (Path(playwright.__file__).parent / "driver" / "node").exists()


def launch(playwright: Any) -> Any:
    """A headless Chromium browser."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
