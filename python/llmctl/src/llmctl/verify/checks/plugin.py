"""pytest plugin for the host checks: `--stack-spec`, the `stack` and `http` fixtures,
and the parametrization of the checks by the endpoints the spec declares."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from llmctl.errors import StackSpecError
from llmctl.stack import DEFAULT_STACK_PATH, StackSpec, load_stack, parse_stack_text

HEALTH_TIMEOUT_S = 10.0
GPU_SERVICES = ("chat", "embedding", "rerank", "llamaSwap", "ollama")  # what runs models
REQUEST_TIMEOUT_S = 180.0  # a gateway request may wait for llama-swap to load a big model


def pytest_addoption(parser) -> None:
    parser.getgroup("llmctl host checks").addoption(
        "--stack-spec",
        default=None,
        metavar="FILE",
        help="stack spec read here (default: /etc/local-llm/stack.json read on the checked host)",
    )


def host_stack(config):
    """The spec the checks compare against, read once per run."""
    cached = getattr(config, "_llmctl_stack", None)
    if cached is not None:
        return cached
    path = config.getoption("--stack-spec")
    spec = load_stack(path) if path else read_host_stack(config.getoption("hosts") or "local://")
    config._llmctl_stack = spec
    return spec


def read_host_stack(hosts: str) -> StackSpec:
    """The spec the checked host keeps in /etc/local-llm/stack.json, read through testinfra."""
    import testinfra

    target = hosts.split(",")[0]
    remote = testinfra.get_host(target).file(str(DEFAULT_STACK_PATH))
    if not remote.exists:
        raise StackSpecError(
            f"stack spec {DEFAULT_STACK_PATH} does not exist on {target}",
            hint="deploy services.local-llm there, or compare the host with a spec file: --stack FILE",
        )
    return parse_stack_text(
        remote.content_string, DEFAULT_STACK_PATH, where=f"stack spec {DEFAULT_STACK_PATH} on {target}"
    )


class PresetStack:
    """Hands the checks a spec read before the run (`llmctl verify` reads the host's own
    first, so a missing or broken one is one clear error, not a failed collection)."""

    def __init__(self, spec: StackSpec) -> None:
        self.spec = spec

    def pytest_configure(self, config) -> None:
        config._llmctl_stack = self.spec


def pytest_generate_tests(metafunc) -> None:
    spec = host_stack(metafunc.config)
    enabled = [e for e in spec.endpoints.values() if e.enable]
    if "endpoint" in metafunc.fixturenames:
        selected = [e for e in enabled if e.unit] if metafunc.function.__name__ == "test_service_active" else enabled
        metafunc.parametrize("endpoint", selected, ids=[e.name for e in selected])
    if "gpu_service" in metafunc.fixturenames:
        selected = [e for e in enabled if e.name in GPU_SERVICES]
        metafunc.parametrize("gpu_service", selected, ids=[e.name for e in selected])
    if "config_file" in metafunc.fixturenames:
        metafunc.parametrize("config_file", list(spec.generated_configs) or [None], ids=_file_ids)
    if "gateway_request" in metafunc.fixturenames:
        metafunc.parametrize("gateway_request", ["chat", "embedding", "rerank"])


def _file_ids(value) -> str:
    return str(value).rsplit("/", 1)[-1] if value else "none-declared"


@pytest.fixture(scope="session")
def stack(request):
    return host_stack(request.config)


@dataclass
class HttpAnswer:
    status: int | None
    body: str
    error: str | None = None

    def json(self):
        return json.loads(self.body)


@pytest.fixture
def http(host):
    """`http(method, url, body=None, timeout=..., headers=None)` run ON the checked host
    (loopback endpoints are only reachable there): urllib for the local backend, curl over SSH."""

    def call(
        method: str, url: str, body: dict | None = None, timeout: float = HEALTH_TIMEOUT_S, headers: dict | None = None
    ) -> HttpAnswer:
        if host.backend.NAME == "local":
            return _local_http(method, url, body, timeout, headers or {})
        return _curl_http(host, method, url, body, timeout, headers or {})

    return call


def _local_http(method: str, url: str, body: dict | None, timeout: float, headers: dict) -> HttpAnswer:
    import urllib.error
    import urllib.request

    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **headers}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            return HttpAnswer(response.status, response.read().decode(errors="replace"))
    except urllib.error.HTTPError as error:
        return HttpAnswer(error.code, error.read().decode(errors="replace"))
    except (urllib.error.URLError, OSError) as error:
        return HttpAnswer(None, "", str(getattr(error, "reason", error)))


def _curl_http(
    host, method: str, url: str, body: dict | None, timeout: float, headers: dict | None = None
) -> HttpAnswer:
    argv = ["curl", "-sS", "--noproxy", "*", "-m", str(int(timeout)), "-X", method, "-w", "\n%{http_code}"]
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    if body is not None:
        argv += ["-H", "Content-Type: application/json", "--data-binary", json.dumps(body)]
    done = host.run(" ".join(_quote(part) for part in [*argv, url]))
    if done.rc != 0:
        return HttpAnswer(None, "", done.stderr.strip() or f"curl exit code {done.rc}")
    text, _, code = done.stdout.rpartition("\n")
    return HttpAnswer(int(code) if code.isdigit() else None, text)


def _quote(part: str) -> str:
    import shlex

    return shlex.quote(part)


class ResultCollector:
    """Gathers one result per check: name, outcome (pass/fail/skip) and the reason."""

    def __init__(self) -> None:
        self.results: list[dict[str, str]] = []
        self.names: dict[str, str] = {}

    def pytest_collection_modifyitems(self, items) -> None:
        for item in items:
            self.names[item.nodeid] = check_name(item)

    def pytest_collectreport(self, report) -> None:
        if report.failed:
            self.results.append({"check": f"collect {report.nodeid}", "result": "fail", "reason": _reason(report)})

    def pytest_runtest_logreport(self, report) -> None:
        name = self.names.get(report.nodeid, report.nodeid)
        if report.when == "call" and report.passed:
            self.results.append({"check": name, "result": "pass", "reason": ""})
        elif report.skipped and report.when in ("setup", "call"):
            self.results.append({"check": name, "result": "skip", "reason": _reason(report)})
        elif report.failed:
            result = "fail" if report.when == "call" else "error"
            self.results.append({"check": name, "result": result, "reason": _reason(report)})


def check_name(item) -> str:
    """ "port bound as declared [chat]": the check without testinfra's host parameter."""
    title = getattr(item, "originalname", item.name).removeprefix("test_").replace("_", " ")
    params = getattr(getattr(item, "callspec", None), "params", {})
    shown = [_param_label(value) for key, value in params.items() if key != "_testinfra_host"]
    return f"{title} [{', '.join(shown)}]" if shown else title


def _param_label(value) -> str:
    if hasattr(value, "name") and hasattr(value, "url"):
        return value.name
    return _file_ids(value) if isinstance(value, str) and "/" in value else str(value)


def _reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        return crash.message.splitlines()[0].removeprefix("Failed: ")
    return str(longrepr).strip().splitlines()[-1] if longrepr else ""
