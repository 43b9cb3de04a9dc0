"""The real Open WebUI (PyPI open-webui, its own environment), on a free loopback port.

It is started with a unit's environment as the NixOS module renders it (upstream's
variables merged with ours): paths under the unit's state folder are moved into a
temporary one, so DATA_DIR and STATIC_DIR lie inside it as upstream's unit has them,
and the unit's working directory is that folder. Nothing else of the environment is
changed here; tests override the backend URLs they point elsewhere.
"""

from __future__ import annotations

from pathlib import Path

from testkit.openai_client import get, post_json
from testkit.processes import ManagedProcess, free_port, http_status, start_process
from testkit.tools import open_webui_bin

UNIT_STATE_DIR = "/var/lib/open-webui"  # services.open-webui.stateDir's default
# Folders Open WebUI writes to, which must lie in the state folder (relative to it when
# the environment does not name them).
STATE_PATHS = {"DATA_DIR": "data", "STATIC_DIR": "static", "HF_HOME": "hf_home"}


def relocate(environment: dict[str, str], state_dir: Path, unit_state_dir: str = UNIT_STATE_DIR) -> dict[str, str]:
    """The environment with every path under `unit_state_dir` moved under `state_dir`."""
    moved = {}
    for name, value in environment.items():
        if value == unit_state_dir or value.startswith(unit_state_dir + "/"):
            value = str(state_dir) + value[len(unit_state_dir) :]
        moved[name] = value
    return moved


def start_open_webui(
    environment: dict[str, str],
    *,
    work_dir: Path,
    port: int | None = None,
    timeout: float = 240.0,
) -> ManagedProcess:
    """`open-webui serve` with `environment` (a rendered unit environment plus secrets),
    its state folder in `work_dir`; waits until GET /health answers 200."""
    port = port or free_port()
    state_dir = work_dir / f"open-webui-{port}"
    state_dir.mkdir(parents=True, exist_ok=True)
    env = relocate(environment, state_dir)
    # A NixOS unit's PATH names store paths of coreutils and friends: keep this machine's.
    env.pop("PATH", None)
    # Open WebUI's defaults for these lie inside its package (the shared environment).
    for name, default in STATE_PATHS.items():
        env.setdefault(name, str(state_dir / default))
        if not Path(env[name]).is_relative_to(state_dir):
            raise ValueError(f"{name}={env[name]} is outside the state folder {state_dir}")
    env.update(
        HOME=str(state_dir),
        # The unit's URL names its own port; ours is another.
        WEBUI_URL=f"http://localhost:{port}",
    )
    url = f"http://127.0.0.1:{port}"
    managed = start_process(
        "open-webui",
        [open_webui_bin(), "serve", "--host", "127.0.0.1", "--port", str(port)],
        work_dir / f"open-webui-{port}.log",
        lambda: http_status(f"{url}/health") == 200,
        timeout=timeout,
        env=env,
        cwd=state_dir,
    )
    managed.info.update(url=url, port=port, state_dir=str(state_dir), env=env)
    return managed


def api(url: str, path: str, payload: dict | None = None, token: str | None = None, timeout: float = 60.0):
    """JSON in, JSON out (GET without a payload, POST with one); an HTTP error raises with its body."""
    if payload is None:
        method, reply = "GET", get(f"{url}{path}", api_key=token, timeout=timeout)
    else:
        method, reply = "POST", post_json(f"{url}{path}", payload, api_key=token, timeout=timeout)
    if reply.status >= 400:
        raise AssertionError(f"{method} {path}: HTTP {reply.status} {reply.body[:500]!r}")
    return reply.json()


def sign_up_admin(url: str, email: str = "admin@example.org", password: str = "correct horse battery") -> str:
    """Sign up the first user (who becomes admin); returns the session token."""
    answer = api(url, "/api/v1/auths/signup", {"name": "Admin", "email": email, "password": password})
    assert answer["role"] == "admin", answer
    return answer["token"]
