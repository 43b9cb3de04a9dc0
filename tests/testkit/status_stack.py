"""A whole local stack on loopback for `llmctl status` and `llmctl verify`.

Real programs where they run here (three llama-servers: chat, embedding, rerank, and
an Envoy gateway routing to them with a minimal bootstrap of our own), replay servers
for Ollama, llama-swap and Open WebUI, a models folder, a secret file and the
generated configs, and the stack spec describing all of it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from testkit.processes import free_port
from testkit.replay_servers import ReplayServer, llama_swap_routes, ollama_routes, start_replay, webui_routes

HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
SECRET = "sk-local-verify-3f9c2a7e51d84b06"


def gateway_bootstrap(listener_port: int, admin_port: int, upstreams: dict[str, int]) -> dict:
    """Envoy: embeddings and rerank by path to their servers, everything else to chat."""
    routes = [
        {"match": {"path": "/health"}, "direct_response": {"status": 200, "body": {"inline_string": "OK"}}},
        {"match": {"path": "/v1/embeddings"}, "route": {"cluster": "embedding", "timeout": "0s"}},
        {"match": {"path": "/v1/rerank"}, "route": {"cluster": "rerank", "timeout": "0s"}},
        {"match": {"prefix": "/"}, "route": {"cluster": "chat", "timeout": "0s"}},
    ]
    manager = {
        "@type": HCM,
        "stat_prefix": "llm_gateway",
        "route_config": {"virtual_hosts": [{"name": "llm", "domains": ["*"], "routes": routes}]},
        "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {"@type": ROUTER}}],
    }
    clusters = [
        {
            "name": name,
            "type": "STATIC",
            "connect_timeout": "1s",
            "health_checks": [
                {
                    "timeout": "1s",
                    "interval": "2s",
                    "no_traffic_interval": "2s",
                    "unhealthy_threshold": 1,
                    "healthy_threshold": 1,
                    "http_health_check": {"path": "/health"},
                }
            ],
            "load_assignment": {
                "cluster_name": name,
                "endpoints": [{"lb_endpoints": [{"endpoint": {"address": _address(port)}}]}],
            },
        }
        for name, port in upstreams.items()
    ]
    return {
        "admin": {"address": _address(admin_port)},
        "static_resources": {
            "listeners": [
                {
                    "name": "llm_gateway",
                    "address": _address(listener_port),
                    "filter_chains": [
                        {
                            "filters": [
                                {"name": "envoy.filters.network.http_connection_manager", "typed_config": manager}
                            ]
                        }
                    ],
                }
            ],
            "clusters": clusters,
        },
    }


def _address(port: int) -> dict:
    return {"socket_address": {"address": "127.0.0.1", "port_value": port}}


@dataclass
class LocalStack:
    root: Path
    spec_path: Path
    document: dict
    processes: list = field(default_factory=list)
    replays: dict[str, ReplayServer] = field(default_factory=dict)

    def write_spec(self, document: dict, name: str = "stack.json") -> Path:
        path = self.root / name
        path.write_text(json.dumps(document, indent=2))
        return path

    def spec_copy(self) -> dict:
        return json.loads(json.dumps(self.document))

    def stop(self) -> None:
        for replay in self.replays.values():
            replay.stop()
        for process in self.processes:
            process.stop()


def build_local_stack(
    root: Path,
    tiny_models,
    start_llama: Callable[..., object],
    start_envoy: Callable[..., object],
    replay_faults: dict[str, str] | None = None,
) -> LocalStack:
    """Start everything; `start_llama(model, args)` and `start_envoy(config, admin_port=)`
    are the conftest fixtures in tests, or the testkit functions in benchmarks."""
    root.mkdir(parents=True, exist_ok=True)
    faults = replay_faults or {}
    stack = LocalStack(root=root, spec_path=root / "stack.json", document={})
    servers = {
        "chat": start_llama(tiny_models.chat, ["-c", "512", "-np", "1", "-a", "tiny-chat"]),
        "embedding": start_llama(tiny_models.embedding, ["--embedding", "-a", "tiny-embedding"]),
        "rerank": start_llama(tiny_models.reranker, ["--rerank", "-a", "tiny-rerank"]),
    }
    stack.processes.extend(servers.values())
    ports = {name: server.info["port"] for name, server in servers.items()}
    listener, admin = free_port(), free_port()
    bootstrap = gateway_bootstrap(listener, admin, ports)
    stack.processes.append(start_envoy(bootstrap, admin_port=admin))
    stack.replays = {
        "ollama": start_replay("ollama", ollama_routes(), faults.get("ollama")),
        "llamaSwap": start_replay(
            "llama-swap",
            llama_swap_routes(running=[{"model": "tiny-chat", "proxy": f"http://127.0.0.1:{ports['chat']}"}]),
            faults.get("llamaSwap"),
        ),
        "webui": start_replay("webui", webui_routes(), faults.get("webui")),
    }
    models_dir = root / "models"
    models_dir.mkdir(exist_ok=True)
    models_dir.chmod(0o755)
    secret = root / "secrets" / "gateway-api-key"
    secret.parent.mkdir(exist_ok=True)
    secret.write_text(SECRET + "\n")
    envoy_config = root / "generated" / "envoy.json"
    envoy_config.parent.mkdir(exist_ok=True)
    envoy_config.write_text(json.dumps(bootstrap, indent=2))
    stack.document = {
        "version": 1,
        "host": "local-test",
        "modelsDir": str(models_dir),
        "endpoints": {
            "gateway": {"url": f"http://127.0.0.1:{listener}"},
            "gatewayAdmin": {"url": f"http://127.0.0.1:{admin}"},
            "llamaSwap": {"url": stack.replays["llamaSwap"].url, "unit": "llama-swap.service"},
            "chat": {"url": servers["chat"].info["url"], "model": "tiny-chat"},
            "embedding": {"url": servers["embedding"].info["url"], "model": "tiny-embedding"},
            "rerank": {"url": servers["rerank"].info["url"], "model": "tiny-rerank"},
            "ollama": {"url": stack.replays["ollama"].url},
            "webui": {"url": stack.replays["webui"].url},
        },
        "secrets": {"files": [str(secret)]},
        "generatedConfigs": [str(envoy_config)],
    }
    stack.write_spec(stack.document)
    return stack
