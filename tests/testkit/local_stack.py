"""A complete local stack on loopback, built from `nix/lib`: tiny chat, embedding and
reranker models served by dedicated llama-servers behind the Envoy gateway.

    with local_stack() as stack:
        print(stack.base_url)            # http://127.0.0.1:PORT/v1
        stack.endpoints["embedding"]     # direct URL of a backend

The stack spec is evaluated by nix-instantiate: `lib.envoyConfig` gives the Envoy
bootstrap (written to generated/envoy.json), `lib.dedicatedServerArgv` each
llama-server's argv, `lib.stackJson` the stack.json llmctl reads (written to
`stack.stack_file`, plus `secrets` and `generatedConfigs`, which nix/lib does not
produce). `with_ollama=True` adds the real Ollama (environment from
`lib.ollamaSettings`) with a tiny model imported; `with_services=True` adds replay
servers for llama-swap, Open WebUI and (without the real one) Ollama. Used by `./dev demo` (testkit.demo), the
integration tests, the `llmctl status`/`verify` tests, bench/gateway_latency.py and
bench/status_speed.py.
"""

from __future__ import annotations

import copy
import json
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testkit import tiny_models
from testkit.envoy import start_envoy
from testkit.llama_server import start_llama_server_argv
from testkit.nixeval import nix_eval
from testkit.ollama import create_model, start_ollama
from testkit.processes import ManagedProcess, free_port
from testkit.replay_servers import ReplayServer, llama_swap_routes, ollama_routes, start_replay, webui_routes
from testkit.tools import llama_server_bin

ROLES = ("chat", "embedding", "rerank")
# Model names the local stack declares, one per role.
MODEL_NAMES = {"chat": "tiny-chat", "embedding": "tiny-embedding", "rerank": "tiny-reranker"}
# The model imported into the real Ollama (with_ollama), as Ollama names it.
OLLAMA_MODEL = "tiny-ollama:latest"


@dataclass
class LocalStack:
    """What a running local stack offers: URLs, ports, the generated configs."""

    work_dir: Path
    spec: dict[str, Any]
    envoy_config: dict[str, Any]
    stack_json: dict[str, Any]
    stack_file: Path
    gateway_port: int
    admin_port: int
    metrics_port: int
    # Direct URLs of the backends by name: chat, embedding, rerank (+ chat-fallback, llamaSwap).
    endpoints: dict[str, str]
    api_key: str | None = None
    servers: dict[str, ManagedProcess] = field(default_factory=dict)
    argvs: dict[str, list[str]] = field(default_factory=dict)
    envoy: ManagedProcess | None = None
    # Replay servers by endpoint name: ollama, llamaSwap, webui (with_services).
    replays: dict[str, ReplayServer] = field(default_factory=dict)
    # The real Ollama (with_ollama) and the environment nix/lib rendered for it.
    ollama: ManagedProcess | None = None
    ollama_environment: dict[str, str] = field(default_factory=dict)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def base_url(self) -> str:
        """The OpenAI base URL clients use."""
        return f"{self.gateway_url}/v1"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    def start_server(self, name: str) -> ManagedProcess:
        """(Re)start the llama-server `name` with its generated argv on its port."""
        port = int(self.endpoints[name].rsplit(":", 1)[1])
        server = start_llama_server_argv(self.argvs[name], port=port, log_dir=self.work_dir / "logs")
        self.servers[name] = server
        return server

    def upstream_requests(self) -> dict[str, int]:
        """Requests Envoy sent to each backend, by backend name (from the admin /clusters)."""
        from testkit.openai_client import get

        by_port = {int(url.rsplit(":", 1)[1]): name for name, url in self.endpoints.items()}
        counts = dict.fromkeys(self.endpoints, 0)
        for line in get(f"{self.admin_url}/clusters").body.decode().splitlines():
            parts = line.split("::")
            if len(parts) == 4 and parts[2] == "rq_total":
                port = int(parts[1].rsplit(":", 1)[1])
                if port in by_port:
                    counts[by_port[port]] = int(parts[3])
        return counts

    def stack_json_copy(self) -> dict[str, Any]:
        """A copy of stack.json to break in a test without touching the running stack."""
        return copy.deepcopy(self.stack_json)

    def write_stack_json(self, document: dict[str, Any], name: str) -> Path:
        """Write a (changed) stack.json next to the real one; returns its path."""
        path = self.work_dir / name
        path.write_text(json.dumps(document, indent=2))
        return path

    def stop(self) -> None:
        if self.envoy is not None:
            self.envoy.stop()
        for server in self.servers.values():
            server.stop()
        if self.ollama is not None:
            self.ollama.stop()


def write_models(root: Path) -> dict[str, Path]:
    """The three tiny models the stack serves, written into `root`."""
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)  # what `llmctl verify` expects of a models folder by default
    return {
        "chat": tiny_models.write_llama(root / "tiny-chat-F16.gguf")[0],
        "embedding": tiny_models.write_bert(root / "tiny-embedding-F16.gguf"),
        "rerank": tiny_models.write_bert(root / "tiny-reranker-F16.gguf", reranker=True),
    }


def local_spec(
    models: dict[str, Path],
    ports: dict[str, int],
    *,
    capabilities: dict[str, bool] | None = None,
    api_key_file: Path | None = None,
    fallback_port: int | None = None,
    llama_swap_port: int | None = None,
    ollama_port: int | None = None,
    webui_port: int | None = None,
    health_interval: str = "1s",
    monitoring: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The stack spec (nix/lib input) of the local stack; monitoring is on (every
    llama-server has --metrics), `monitoring` adds to that section."""
    from llmctl.flags import probe_capabilities

    binary = str(llama_server_bin())
    dedicated = {role: {"port": ports[role], "model": MODEL_NAMES[role]} for role in ROLES}
    if fallback_port is not None:
        dedicated["chat"]["fallbacks"] = [f"http://127.0.0.1:{fallback_port}"]
    return {
        "host": "local",
        "modelsDir": str(models["chat"].parent),
        "gpu": {"profile": "cpu"},
        "llamaServer": {
            "binary": binary,
            "capabilities": capabilities if capabilities is not None else probe_capabilities(binary),
            # Two cores shared with other work; small, bounded servers.
            "extraArgs": ["--threads", "2", "--no-webui"],
            "contextSize": 512,
            "parallel": 2,
        },
        "models": {
            MODEL_NAMES[role]: {"file": models[role].name, "role": role, "serve": "dedicated"} for role in ROLES
        },
        "dedicated": dedicated,
        "llamaSwap": {"enable": llama_swap_port is not None, "port": llama_swap_port or 8090},
        "ollama": {"enable": ollama_port is not None, "port": ollama_port or 11434},
        "webui": {"enable": webui_port is not None, "port": webui_port or 3001},
        "gateway": {
            "enable": True,
            "port": ports["gateway"],
            "adminPort": ports["admin"],
            "metricsPort": ports["metrics"],
            "accessLog": False,
            "apiKeyFile": str(api_key_file) if api_key_file else None,
            # Short intervals so a killed backend is noticed within seconds.
            "healthCheck": {
                "interval": health_interval,
                "timeout": "1s",
                "unhealthyThreshold": 1,
                "healthyThreshold": 1,
            },
        },
        "monitoring": {"enable": True, **(monitoring or {})},
    }


@contextmanager
def local_stack(
    *,
    work_dir: Path | None = None,
    models: dict[str, Path] | None = None,
    api_key: str | None = None,
    with_fallback: bool = False,
    with_llama_swap: bool = False,
    with_services: bool = False,
    with_ollama: bool = False,
    monitoring: dict[str, Any] | None = None,
) -> Iterator[LocalStack]:
    """Start the local stack and stop everything on exit.

    `models`: role -> GGUF path (all in one folder); default: tiny models written into
    `work_dir`. `api_key`: require this key at the gateway (written to a key file the
    config only names). `with_fallback`: a second chat server (`chat-fallback`), the
    chat endpoint's fallback. `with_llama_swap`: a third chat server standing in for
    llama-swap (`llamaSwap`), where unknown models and /v1/models go.
    `with_services`: replay servers for Ollama, llama-swap (its /running lists the chat
    server) and Open WebUI, declared in the spec like real ones (the gateway routes to
    Ollama and llama-swap), and an Open WebUI secret key file named in `secrets`.
    `with_ollama`: the real Ollama instead of its replay, started with the environment
    `lib.ollamaSettings` renders, serving `OLLAMA_MODEL` (imported from the tiny chat GGUF).
    `monitoring`: keys of the spec's monitoring section (intervals, exporter ports,
    alert `for`s) for a Prometheus the caller starts (testkit.prometheus).
    """
    if with_services and with_llama_swap:
        raise ValueError("with_services brings its own llama-swap; with_llama_swap starts another")
    with ExitStack() as cleanup:
        if work_dir is None:
            work_dir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="local-llm-stack-")))
        models = models or write_models(work_dir / "models")
        # Replays first: bound, their ports cannot be handed out again by free_port.
        replays = start_services(with_ollama=with_ollama) if with_services else {}
        for replay in replays.values():
            cleanup.callback(replay.stop)
        ports = {name: free_port() for name in (*ROLES, "gateway", "admin", "metrics")}
        ollama_port = free_port() if with_ollama else (replays["ollama"].port if replays else None)
        # Extra chat servers: same generated argv, another port.
        stand_ins = {
            name: free_port()
            for name, wanted in (("chat-fallback", with_fallback), ("llamaSwap", with_llama_swap))
            if wanted
        }
        if replays:
            # llama-swap's /running names the chat server, as when it proxies to it.
            running = [{"model": MODEL_NAMES["chat"], "proxy": f"http://127.0.0.1:{ports['chat']}"}]
            replays["llamaSwap"].routes = llama_swap_routes(running=running)
        secret_files = []
        key_file = None
        if api_key is not None:
            key_file = write_secret(work_dir / "api-keys", f"# gateway API keys, one per line\n{api_key}\n")
            secret_files.append(key_file)
        if with_services:
            secret_files.append(write_secret(work_dir / "webui-secret-key", secrets.token_hex(16) + "\n"))
        spec = local_spec(
            models,
            ports,
            api_key_file=key_file,
            fallback_port=stand_ins.get("chat-fallback"),
            llama_swap_port=replays["llamaSwap"].port if replays else stand_ins.get("llamaSwap"),
            ollama_port=ollama_port,
            webui_port=replays["webui"].port if replays else None,
            monitoring=monitoring,
        )
        generated = nix_eval(
            "{ envoy = lib.envoyConfig spec; stack = lib.stackJson spec;"
            " argv = builtins.listToAttrs (map (role: { name = role; value = lib.dedicatedServerArgv spec role; })"
            ' [ "chat" "embedding" "rerank" ]); ollama = (lib.ollamaSettings spec).environment; }',
            spec=spec,
        )
        envoy_file = work_dir / "generated" / "envoy.json"
        envoy_file.parent.mkdir(exist_ok=True)
        envoy_file.write_text(json.dumps(generated["envoy"], indent=2))
        # Host facts lib.stackJson does not produce (the NixOS module adds them, see
        # nix/modules/core.nix); verify's secret check needs them.
        generated["stack"]["secrets"] = {"files": [str(path) for path in secret_files]}
        generated["stack"]["generatedConfigs"] = [str(envoy_file)]
        stack_file = work_dir / "stack.json"
        stack_file.write_text(json.dumps(generated["stack"], indent=2))
        stack = LocalStack(
            work_dir=work_dir,
            spec=spec,
            envoy_config=generated["envoy"],
            stack_json=generated["stack"],
            stack_file=stack_file,
            gateway_port=ports["gateway"],
            admin_port=ports["admin"],
            metrics_port=ports["metrics"],
            endpoints={role: f"http://127.0.0.1:{ports[role]}" for role in ROLES},
            api_key=api_key,
            argvs=dict(generated["argv"]),
            replays=replays,
            ollama_environment=generated["ollama"],
        )
        cleanup.callback(stack.stop)
        if with_ollama:
            stack.ollama = start_ollama(work_dir=work_dir, environment=generated["ollama"], port=ollama_port)
            create_model(stack.ollama, OLLAMA_MODEL, models["chat"])
            stack.endpoints["ollama"] = stack.ollama.info["url"]
        for name, port in stand_ins.items():
            argv = stack.argvs["chat"]
            at = argv.index("--port") + 1
            stack.argvs[name] = [*argv[:at], str(port), *argv[at + 1 :]]
            stack.endpoints[name] = f"http://127.0.0.1:{port}"
        stack.endpoints.update({name: replay.url for name, replay in replays.items()})
        for name in stack.argvs:
            stack.start_server(name)
        stack.envoy = start_envoy(stack.envoy_config, admin_port=ports["admin"], work_dir=work_dir)
        yield stack


def start_services(*, with_ollama: bool = False) -> dict[str, ReplayServer]:
    """Replay servers for the services not started for real, by endpoint name."""
    replays = {
        "llamaSwap": start_replay("llama-swap", llama_swap_routes()),
        "webui": start_replay("webui", webui_routes()),
    }
    if not with_ollama:
        replays["ollama"] = start_replay("ollama", ollama_routes())
    return replays


def write_secret(path: Path, content: str) -> Path:
    path.write_text(content)
    path.chmod(0o600)
    return path
