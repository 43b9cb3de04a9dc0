"""Host checks: is this host what its stack spec declares?

testinfra's `host` fixture is the checked machine (local or over SSH); `stack` is the
spec, `endpoint` / `config_file` / `gateway_request` are parametrized by the plugin
(llmctl.verify.checks.plugin) from the endpoints, generated configs and the three
request kinds. A failing check says what it found and what the spec says.
"""

from __future__ import annotations

import pytest

from llmctl.status.gpu_use import UNKNOWN, HostFacts, expects_gpu, judge_ollama, server_verdict
from llmctl.verify.checks import gpu_evidence, rules
from llmctl.verify.checks.plugin import REQUEST_TIMEOUT_S


def fail(reason: str) -> None:
    pytest.fail(reason, pytrace=False)


def test_service_active(host, endpoint):
    if not host.file("/run/systemd/system").is_directory:
        pytest.skip(f"systemd is not running on this host, so unit {endpoint.unit} cannot be checked")
    service = host.service(endpoint.unit)
    if not service.is_running:
        fail(f"unit {endpoint.unit} is not active")


def test_port_bound_as_declared(host, endpoint):
    hostname = rules.url_host(endpoint.url)
    if not rules.is_loopback(hostname) and hostname not in (host.check_output("hostname").lower(), "0.0.0.0"):
        pytest.skip(f"{endpoint.url} is not on this host")
    port = rules.url_port(endpoint.url)
    expected = rules.expected_bind(endpoint.url)
    addresses = rules.bound_addresses(host.socket.get_listening_sockets(), port)
    problem = rules.bind_problem(addresses, port, expected)
    if problem:
        fail(f"{endpoint.name}: {problem} ({endpoint.url})")


def test_firewall_matches_spec(host, stack):
    ruleset = _firewall_ruleset(host)
    opened = rules.open_ports(ruleset)
    problems = []
    for endpoint in (e for e in stack.endpoints.values() if e.enable):
        port = rules.url_port(endpoint.url)
        if endpoint.open_firewall and port not in opened:
            problems.append(f"{endpoint.name} port {port} should be open but is not")
        elif not endpoint.open_firewall and rules.expected_bind(endpoint.url) == rules.ALL and port in opened:
            problems.append(f"{endpoint.name} port {port} is open but the spec does not open it")
    if problems:
        fail("; ".join(problems))


def _firewall_ruleset(host) -> str:
    """The first non-empty ruleset of nft, then iptables-save: a host may have nft installed
    while its firewall is iptables-legacy, whose rules nft does not show."""
    readers = [command for command in ("nft list ruleset", "iptables-save") if host.exists(command.split()[0])]
    if not readers:
        pytest.skip("neither nft nor iptables-save is available, so the firewall cannot be read")
    failures = []
    for command in readers:
        done = host.run(command)
        if done.rc != 0:
            failures.append(f"`{command}` failed ({done.stderr.strip()[:120] or f'exit code {done.rc}'})")
        elif done.stdout.strip():
            return done.stdout
    pytest.skip("; ".join(failures) or "no firewall rules are loaded on this host")


def test_models_folder(host, stack):
    folder = host.file(str(stack.models_dir))
    if not folder.exists:
        fail(f"models folder {stack.models_dir} does not exist")
    if not folder.is_directory:
        fail(f"models folder {stack.models_dir} is not a directory")
    if stack.models_dir_owner:
        group = stack.models_dir_owner.partition(":")[2]
        found = f"{folder.user}:{folder.group}" if group else folder.user
        if found != stack.models_dir_owner:
            fail(f"models folder {stack.models_dir} is owned by {found}; the spec says {stack.models_dir_owner}")
    if stack.models_dir_mode:
        if folder.mode != int(stack.models_dir_mode, 8):
            fail(f"models folder {stack.models_dir} has mode {folder.mode:04o}; the spec says {stack.models_dir_mode}")
    elif folder.mode & 0o002:
        fail(f"models folder {stack.models_dir} is world-writable (mode {folder.mode:04o})")


def test_endpoint_answers(http, endpoint):
    path = endpoint.health
    answer = http("GET", endpoint.url + path)
    if answer.status is None:
        fail(f"{endpoint.name}: GET {endpoint.url}{path} got no answer: {answer.error}")
    failing = 500 if endpoint.name == "gateway" else 400  # the listener may route /health nowhere (404)
    if answer.status >= failing:
        fail(f"{endpoint.name}: GET {endpoint.url}{path} answered HTTP {answer.status}: {answer.body.strip()[:120]}")


GATEWAY_REQUESTS = {
    "chat": (
        "/v1/chat/completions",
        lambda model: {"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2},
        lambda answer: answer["choices"][0]["message"],
    ),
    "embedding": (
        "/v1/embeddings",
        lambda model: {"model": model, "input": ["hello"]},
        lambda answer: len(answer["data"][0]["embedding"]) > 0 or None,
    ),
    "rerank": (
        "/v1/rerank",
        lambda model: {"model": model, "query": "hello", "documents": ["hello world", "goodbye"]},
        lambda answer: len(answer["results"]) == 2 or None,
    ),
}


def test_gateway_answers(host, http, stack, gateway_request):
    gateway = stack.endpoint("gateway")
    if gateway is None:
        pytest.skip("the stack spec has no enabled gateway")
    model = _model_for(stack, gateway_request)
    if model is None:
        pytest.skip(f"no {gateway_request} model in the stack spec (endpoints.{gateway_request}.model or models)")
    path, body, read = GATEWAY_REQUESTS[gateway_request]
    answer = http(
        "POST", gateway.url + path, body(model), timeout=REQUEST_TIMEOUT_S, headers=_gateway_auth(host, stack)
    )
    if answer.status != 200:
        detail = answer.error or f"HTTP {answer.status}: {answer.body.strip()[:160]}"
        fail(f"gateway POST {path} (model {model}): {detail}")
    try:
        if read(answer.json()) is None:
            raise ValueError("empty result")
    except (ValueError, KeyError, IndexError, TypeError) as error:
        fail(f"gateway POST {path} (model {model}): unexpected answer ({error}): {answer.body.strip()[:160]}")


def _gateway_auth(host, stack) -> dict[str, str]:
    """The gateway wants `Authorization: Bearer KEY` when the spec names a key file: the
    first key of that file on the checked host (never printed)."""
    path = stack.gateway.api_key_file
    if not path:
        return {}
    keys = host.file(path)
    if not keys.exists:
        fail(f"gateway API key file {path} does not exist")
    key = rules.first_api_key(keys.content_string)
    if key is None:
        fail(f"gateway API key file {path} holds no key")
    return {"Authorization": f"Bearer {key}"}


def _model_for(stack, role: str) -> str | None:
    dedicated = stack.endpoint(role)
    if dedicated is not None and dedicated.model:
        return dedicated.model
    return next((m.name for m in stack.models.values() if m.role == role), None)


def test_no_secret_in_generated_config(host, stack, config_file):
    if config_file is None:
        pytest.skip("the stack spec names no generated configs (generatedConfigs)")
    if not stack.secret_files:
        pytest.skip("the stack spec names no secret files (secrets.files)")
    config = host.file(config_file)
    if not config.exists:
        fail(f"generated config {config_file} does not exist")
    text = config.content_string
    for secret_path in stack.secret_files:
        secret = host.file(secret_path)
        if not secret.exists:
            fail(f"secret file {secret_path} does not exist")
        if any(needle in text for needle in rules.secret_needles(secret.content_string)):
            fail(f"{config_file} contains the contents of secret file {secret_path}")


def test_gpu_really_used(host, http, stack, gpu_service):
    """A model that runs on the CPU where the spec's GPU backend was planned fails, with
    the cause read from its llama-server's journal (or Ollama's /api/ps) and the next step."""
    backend = stack.gpu.backend
    if not expects_gpu(backend):
        return  # a CPU host: nothing to find
    if gpu_service.name == "ollama":
        _check_ollama(http, gpu_service, backend)
        return
    if not gpu_service.unit or not host.exists("journalctl"):
        pytest.skip(f"{gpu_service.name}: no systemd unit or journal to read its llama-server's log from")
    journal, facts = _journal_and_facts(host, gpu_service.unit, backend)
    if gpu_service.name == "llamaSwap":
        verdicts = _llama_swap_verdicts(http, stack, gpu_service, journal, facts)
    else:
        verdicts = [(gpu_service.name, server_verdict(journal, stack, gpu_service, facts))]
    failed = [f"{name}: {v.message()}" for name, v in verdicts if not v.ok and v.state != UNKNOWN]
    if failed:
        fail("; ".join(failed))
    unknown = [f"{name}: {v.message()}" for name, v in verdicts if v.state == UNKNOWN]
    if unknown:
        pytest.skip("; ".join(unknown))


def _journal_and_facts(host, unit: str, backend: str) -> tuple[str, HostFacts]:
    """The log of the unit's current run, and what it runs with (groups, environment)."""
    shown = host.run(f"systemctl show {' '.join('-p ' + p for p in gpu_evidence.UNIT_PROPERTIES)} {unit}")
    properties = gpu_evidence.unit_properties(shown.stdout)
    invocation = properties.get("InvocationID")
    selector = f"_SYSTEMD_INVOCATION_ID={invocation}" if invocation else f"-b -u {unit}"
    journal = host.run(f"journalctl -o cat --no-pager {selector}").stdout
    groups = set(properties.get("SupplementaryGroups", "").split())
    user = properties.get("User")
    if user and host.exists("id"):
        groups |= set(host.run(f"id -nG {user}").stdout.split())
    nodes = {}
    for path in gpu_evidence.GPU_DEVICES.get(backend, ()):
        node = host.file(path)
        if node.exists:
            nodes[path] = (node.group, node.mode)
    access = gpu_evidence.device_access(backend, nodes, groups)
    return journal, HostFacts(device_access=access, hsa_override=gpu_evidence.hsa_override(properties), unit=unit)


def _llama_swap_verdicts(http, stack, service, journal: str, facts: HostFacts) -> list:
    answer = http("GET", service.url + "/running")
    running = answer.json().get("running", []) if answer.status == 200 else []
    verdicts = []
    for entry in (e for e in running if isinstance(e, dict)):
        props = http("GET", f"{entry.get('proxy', '').rstrip('/')}/props") if entry.get("proxy") else None
        model_path = props.json().get("model_path") if props is not None and props.status == 200 else None
        verdicts.append((str(entry.get("model")), server_verdict(journal, stack, service, facts, model_path)))
    if not verdicts:
        pytest.skip("llama-swap runs no model: nothing to check")
    return verdicts


def _check_ollama(http, service, backend: str) -> None:
    answer = http("GET", service.url + "/api/ps")
    if answer.status != 200:
        pytest.skip(f"ollama: GET /api/ps answered {answer.status or answer.error}")
    models = answer.json().get("models") or []
    if not models:
        pytest.skip("ollama: no model loaded, nothing to check")
    failed = [f"ollama {name}: {v.message()}" for name, v in judge_ollama(models, backend) if not v.ok]
    if failed:
        fail("; ".join(failed))
