"""The stack spec: `/etc/local-llm/stack.json`, the contract between Nix and llmctl.

The document is validated against `schemas/stack.schema.json` (the same schema the
Nix generators are tested against) and turned into plain dataclasses with the
defaults filled in; `StackSpec.to_document()` turns them back into a document with
the same keys (what `llmctl stack show --json` prints, readable with `--stack`).
Every error names the file and the key.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field, fields
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from llmctl.datafiles import read_json
from llmctl.errors import StackSpecError

# The paths nix/lib writes too (data/defaults.json, read by nix/lib/defaults.nix).
_PATHS = read_json("defaults.json")["paths"]
DEFAULT_STACK_PATH = Path(_PATHS["stackFile"])
STACK_ENV = "LOCAL_LLM_STACK"
DEFAULT_MODELS_DIR = _PATHS["modelsDir"]
DEFAULT_SWAP_CONFIG = _PATHS["llamaSwapConfig"]
SPEC_VERSION = 1
HEALTH_PATHS = "health-paths.json"


def default_health_path(endpoint: str) -> str:
    """Where the endpoint called `endpoint` answers when healthy (data/health-paths.json,
    the table nix/lib/stack.nix writes into stack.json)."""
    return read_json(HEALTH_PATHS)["paths"].get(endpoint, "/")


@dataclass(frozen=True)
class Endpoint:
    name: str
    url: str
    enable: bool = True
    model: str | None = None
    unit: str | None = None
    open_firewall: bool = False
    aliases: tuple[str, ...] = ()
    fallbacks: tuple[str, ...] = ()
    health: str = "/"  # the path that answers when the service is healthy


@dataclass(frozen=True)
class GatewaySettings:
    api_key_file: str | None = None


@dataclass(frozen=True)
class Gpu:
    backend: str = "cpu"
    profile: str | None = None
    targets: tuple[str, ...] = ()
    memory_gib: float | None = None
    devices: int = 0
    unified_memory: bool = False


@dataclass(frozen=True)
class LlamaServerDefaults:
    binary: str = "llama-server"
    context_size: int | None = None
    gpu_layers: int | str | None = None
    parallel: int | None = None
    flash_attention: str | None = None
    no_mmap: bool | None = None
    auto_size: bool = False
    metrics: bool = False  # --metrics on every llama-server (monitoring)
    extra_args: tuple[str, ...] = ()


@dataclass(frozen=True)
class LlamaSwapSettings:
    config_file: str = DEFAULT_SWAP_CONFIG
    auto_discover: bool = True
    ttl: int | None = None
    health_check_timeout: int | None = None
    start_port: int | None = None
    version: int | None = None
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class DeclaredModel:
    name: str
    source: str | None = None
    file: str | None = None
    role: str | None = None
    serve: str = "swap"
    aliases: tuple[str, ...] = ()
    context_size: int | None = None
    gpu_layers: int | str | None = None
    extra_args: tuple[str, ...] = ()
    ttl: int | None = None
    unlisted: bool = False
    group: str | None = None
    cmd: str | None = None
    proxy: str | None = None


@dataclass(frozen=True)
class StackSpec:
    path: Path | None
    host: str | None = None
    models_dir: Path = Path(DEFAULT_MODELS_DIR)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    gpu: Gpu = field(default_factory=Gpu)
    llama_server: LlamaServerDefaults = field(default_factory=LlamaServerDefaults)
    llama_swap: LlamaSwapSettings = field(default_factory=LlamaSwapSettings)
    models: dict[str, DeclaredModel] = field(default_factory=dict)
    models_dir_owner: str | None = None
    models_dir_mode: str | None = None
    secret_files: tuple[str, ...] = ()
    generated_configs: tuple[str, ...] = ()
    gateway: GatewaySettings = field(default_factory=GatewaySettings)
    raw: dict[str, Any] = field(default_factory=dict)

    def endpoint(self, name: str) -> Endpoint | None:
        """The endpoint called `name` if this host deploys it and it is enabled."""
        found = self.endpoints.get(name)
        return found if found is not None and found.enable else None

    def to_document(self) -> dict[str, Any]:
        """The spec as a stack.json document, every default filled in (valid input for
        `load_stack`, which gives back an equal spec)."""
        document = {
            "version": SPEC_VERSION,
            "host": self.host,
            "modelsDir": str(self.models_dir),
            "modelsDirOwner": self.models_dir_owner,
            "modelsDirMode": self.models_dir_mode,
            "secrets": {"files": list(self.secret_files)},
            "generatedConfigs": list(self.generated_configs),
            "endpoints": {name: _document(e, drop_none=True) for name, e in self.endpoints.items()},
            "gpu": _document(self.gpu),
            "llamaServer": _document(self.llama_server),
            "llamaSwap": _document(self.llama_swap),
            "gateway": _document(self.gateway),
            "models": {name: _document(m, drop_none=True) for name, m in self.models.items()},
        }
        return {key: value for key, value in document.items() if value is not None}


# stack.json keys that are not the camelCase of the field name.
DOCUMENT_KEYS = {"memory_gib": "memoryGiB"}


def _document(section: Any, *, drop_none: bool = False) -> dict[str, Any]:
    """A section of the spec under its stack.json keys; `drop_none` leaves out unset
    values whose schema takes no null (a model's role, an endpoint's unit)."""
    document = {}
    for spec_field in fields(section):
        value = getattr(section, spec_field.name)
        if spec_field.name == "name" or (drop_none and value is None):
            continue
        key = DOCUMENT_KEYS.get(spec_field.name) or re.sub(r"_(.)", lambda m: m[1].upper(), spec_field.name)
        document[key] = list(value) if isinstance(value, tuple) else value
    return document


@cache
def schema() -> dict[str, Any]:
    text = resources.files("llmctl").joinpath("schemas/stack.schema.json").read_text()
    return json.loads(text)


def resolve_stack_path(explicit: str | os.PathLike[str] | None) -> tuple[Path, bool]:
    """The stack file to read and whether the user named it (flag or environment)."""
    if explicit:
        return Path(explicit), True
    from_env = os.environ.get(STACK_ENV)
    if from_env:
        return Path(from_env), True
    return DEFAULT_STACK_PATH, False


def load_stack(
    explicit: str | os.PathLike[str] | None = None, *, required: bool = True, validate: bool = True
) -> StackSpec:
    """Read and validate the stack spec.

    A file the user named must exist. The default file may be absent when
    `required` is false (commands that also work from flags alone); then the
    built-in defaults are returned. `validate=False` skips the schema (importing
    jsonschema costs tens of ms) for callers that validate later themselves.
    """
    path, named = resolve_stack_path(explicit)
    if not path.exists() and not named and not required:
        return StackSpec(path=None)
    if not path.exists():
        raise StackSpecError(
            f"stack spec {path} does not exist",
            hint=f"pass --stack FILE or set {STACK_ENV}; on NixOS the file is written by services.local-llm",
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise StackSpecError(f"stack spec {path} cannot be read: {error}") from error
    return parse_stack_text(text, path, validate=validate)


def parse_stack_text(
    text: str, path: Path | None = None, *, where: str | None = None, validate: bool = True
) -> StackSpec:
    """The spec in `text`, a stack.json's content; `where` names it in errors (default: its path)."""
    where = where or f"stack spec {path}"
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise StackSpecError(
            f"{where}: not valid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from error
    return parse_stack(document, path, validate=validate)


def parse_stack(document: Any, path: Path | None = None, *, validate: bool = True) -> StackSpec:
    """Validate a decoded document and build the spec with defaults filled in."""
    if validate:
        validate_stack(document, path)
    endpoints = {
        name: Endpoint(
            name=name,
            url=value["url"].rstrip("/"),
            enable=value.get("enable", True),
            model=value.get("model"),
            unit=value.get("unit"),
            open_firewall=value.get("openFirewall", False),
            aliases=tuple(value.get("aliases", ())),
            fallbacks=tuple(url.rstrip("/") for url in value.get("fallbacks", ())),
            health=value.get("health", default_health_path(name)),
        )
        for name, value in document.get("endpoints", {}).items()
    }
    gpu = document.get("gpu", {})
    server = document.get("llamaServer", {})
    swap = document.get("llamaSwap", {})
    return StackSpec(
        path=path,
        host=document.get("host"),
        models_dir=Path(document.get("modelsDir", DEFAULT_MODELS_DIR)),
        endpoints=endpoints,
        gpu=Gpu(
            backend=gpu.get("backend", "cpu"),
            profile=gpu.get("profile"),
            targets=tuple(gpu.get("targets", ())),
            memory_gib=gpu.get("memoryGiB"),
            devices=gpu.get("devices", 0),
            unified_memory=gpu.get("unifiedMemory", False),
        ),
        llama_server=LlamaServerDefaults(
            binary=server.get("binary", "llama-server"),
            context_size=server.get("contextSize"),
            gpu_layers=server.get("gpuLayers"),
            parallel=server.get("parallel"),
            flash_attention=server.get("flashAttention"),
            no_mmap=server.get("noMmap"),
            auto_size=server.get("autoSize", False),
            metrics=server.get("metrics", False),
            extra_args=tuple(server.get("extraArgs", ())),
        ),
        llama_swap=LlamaSwapSettings(
            config_file=swap.get("configFile", DEFAULT_SWAP_CONFIG),
            auto_discover=swap.get("autoDiscover", True),
            ttl=swap.get("ttl"),
            health_check_timeout=swap.get("healthCheckTimeout"),
            start_port=swap.get("startPort"),
            version=swap.get("version"),
            groups=dict(swap.get("groups", {})),
        ),
        models={name: _declared_model(name, value) for name, value in document.get("models", {}).items()},
        models_dir_owner=document.get("modelsDirOwner"),
        models_dir_mode=document.get("modelsDirMode"),
        secret_files=tuple(document.get("secrets", {}).get("files", ())),
        generated_configs=tuple(document.get("generatedConfigs", ())),
        gateway=GatewaySettings(api_key_file=document.get("gateway", {}).get("apiKeyFile")),
        raw=document,
    )


def _declared_model(name: str, value: dict[str, Any]) -> DeclaredModel:
    return DeclaredModel(
        name=name,
        source=value.get("source"),
        file=value.get("file"),
        role=value.get("role"),
        serve=value.get("serve", "swap"),
        aliases=tuple(value.get("aliases", ())),
        context_size=value.get("contextSize"),
        gpu_layers=value.get("gpuLayers"),
        extra_args=tuple(value.get("extraArgs", ())),
        ttl=value.get("ttl"),
        unlisted=value.get("unlisted", False),
        group=value.get("group"),
        cmd=value.get("cmd"),
        proxy=value.get("proxy"),
    )


def validate_stack(document: Any, path: Path | None = None) -> None:
    """Raise `StackSpecError` naming the file and the first offending key."""
    from jsonschema import Draft202012Validator

    where = f"stack spec {path}" if path else "stack spec"
    if not isinstance(document, dict):
        raise StackSpecError(f"{where}: the document must be a JSON object, not {_json_type(document)}")
    validator = Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])
    if not errors:
        return
    first = errors[0]
    message = _describe(first)
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    raise StackSpecError(
        f"{where}: {message}{more}",
        hint="fix the key named above; the format is described in docs/stack-spec.md",
    )


def _describe(error) -> str:
    key = _dotted(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        prefix = f"{key}." if key else ""
        names = ", ".join(f"'{prefix}{name}'" for name in unknown)
        return f"unknown key {names}" + (f" (known keys: {', '.join(allowed)})" if allowed else "")
    if error.validator == "required":
        missing = [name for name in error.validator_value if name not in error.instance]
        prefix = f"{key}." if key else ""
        return "missing key " + ", ".join(f"'{prefix}{name}'" for name in missing)
    if error.validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return f"key '{key}': expected {expected}, got {_json_type(error.instance)} {json.dumps(error.instance)}"
    if error.validator == "const" and key == "version":
        found = json.dumps(error.instance)
        return f"key 'version': unsupported version {found} (this llmctl reads version {SPEC_VERSION})"
    return f"key '{key}': {error.message}"


def _dotted(path) -> str:
    return ".".join(str(part) if not isinstance(part, int) else f"[{part}]" for part in path).replace(".[", "[")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
