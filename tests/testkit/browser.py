"""Debian's headless Chromium, driven by selenium through Debian's chromedriver.

Both paths are given explicitly, so selenium never looks for (or downloads) a driver or
a browser of its own. The flags keep Chromium off the network on a machine without one
(no component updates, sync, QUIC or background requests, which otherwise stall it) and
give every session a fresh profile.
"""

from __future__ import annotations

from pathlib import Path

from testkit.tools import chromedriver_bin, chromium_bin

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
)


def start_browser(profile_dir: Path, log_path: Path):
    """A selenium WebDriver for a fresh Chromium profile in `profile_dir`."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium_bin())
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile_dir}")
    service = Service(executable_path=str(chromedriver_bin()), log_output=str(log_path))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(120)
    return driver
