"""Fixtures shared by every test tier (python/llmctl/tests, tests/nix, tests/vm host checks).

The helpers live in tests/testkit; this file only turns them into fixtures.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "tests"))

from testkit import tiny_models as _tiny
from testkit import tools as _tools
from testkit.envoy import start_envoy
from testkit.hub_emulator import HubEmulator
from testkit.llama_server import start_llama_server
from testkit.ollama import start_ollama
from testkit.open_webui import start_open_webui
from testkit.processes import ProcessStartError
from testkit.prometheus import start_prometheus


def pytest_configure(config) -> None:
    _tools.UNDER_PYTEST = True  # a missing tool now skips (or fails) the test instead of raising


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under LOCAL_LLM_REQUIRE_TOOLS=1 (./dev test, CI) no test may pass by skipping: a skip
    from anywhere (not only testkit.tools.missing) is reported as a failure with its reason."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and os.environ.get("LOCAL_LLM_REQUIRE_TOOLS") == "1":
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under LOCAL_LLM_REQUIRE_TOOLS=1, where nothing may skip: {reason}"


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch, tmp_path):
    """No test reads the machine's stack spec, Hugging Face token or home folder."""
    for name in ("LOCAL_LLM_STACK", "HF_TOKEN", "HF_ENDPOINT", "LLMCTL_DEBUG", "HUGGING_FACE_HUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("LLMCTL_CACHE_DIR", str(tmp_path / "llmctl-cache"))


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> _tiny.TinyModels:
    """Every tiny GGUF model, written once per test session."""
    return _tiny.build_all(tmp_path_factory.mktemp("tiny-models"))


def _failing_test_on_start_error(starter):
    """Wrap a starter so a program that does not come up fails the test with its log;
    returns (start, started) so the fixture can stop what was started."""
    started = []

    def start(*args, **kwargs):
        try:
            managed = starter(*args, **kwargs)
        except ProcessStartError as error:
            pytest.fail(str(error), pytrace=False)
        started.append(managed)
        return managed

    return start, started


@pytest.fixture
def llama_server(tmp_path):
    """Factory: `llama_server(model, [args])` starts the real llama-server on a free
    loopback port and returns it once /health answers; all are stopped at teardown.
    A server that fails to start fails the test with its log."""
    start, started = _failing_test_on_start_error(
        lambda model, args=(), **kwargs: start_llama_server(model, args, log_dir=tmp_path / "logs", **kwargs)
    )
    yield start
    for server in started:
        server.stop()


@pytest.fixture
def envoy(tmp_path):
    """Factory: `envoy(config, admin_port=...)` starts the real Envoy and waits for /ready."""
    start, started = _failing_test_on_start_error(
        lambda config, *, admin_port, **kwargs: start_envoy(config, admin_port=admin_port, work_dir=tmp_path, **kwargs)
    )
    yield start
    for proxy in started:
        proxy.stop()


@pytest.fixture
def prometheus(tmp_path):
    """Factory: `prometheus(config, rules)` starts the real Prometheus on a free loopback
    port (storage in the test's folder) and waits for /-/ready; stopped at teardown."""
    start, started = _failing_test_on_start_error(
        lambda config, rules=None: start_prometheus(config, rules, tmp_path / f"prometheus-{len(started)}")
    )
    yield start
    for server in started:
        server.stop()


@pytest.fixture
def ollama(tmp_path):
    """Factory: `ollama(environment=...)` starts the real `ollama serve` on a free loopback
    port with its own models folder and home, and waits for /api/version."""
    start, started = _failing_test_on_start_error(
        lambda **kwargs: start_ollama(work_dir=tmp_path / "ollama", **kwargs)
    )
    yield start
    for server in started:
        server.stop()


@pytest.fixture
def open_webui(tmp_path):
    """Factory: `open_webui(environment)` starts the real Open WebUI with a rendered unit
    environment, its state folder (DATA_DIR, STATIC_DIR) in a temporary folder."""
    start, started = _failing_test_on_start_error(
        lambda environment, **kwargs: start_open_webui(environment, work_dir=tmp_path / "webui", **kwargs)
    )
    yield start
    for server in started:
        server.stop(timeout=30)


@pytest.fixture
def browser(tmp_path):
    """A selenium WebDriver on Debian's headless Chromium with a fresh profile."""
    from testkit.browser import start_browser

    driver = start_browser(tmp_path / "chromium-profile", tmp_path / "chromedriver.log")
    yield driver
    driver.quit()


@pytest.fixture
def hub_emulator(monkeypatch):
    """An offline Hugging Face Hub (testkit/hub_emulator.py) on loopback, with a second
    origin as its CDN; HF_ENDPOINT points at it. Add repositories with `add_repo`."""
    hub = HubEmulator().start()
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    yield hub
    hub.stop()
