"""What the GPU check reads off the checked host, as plain functions (tested without
a host): the unit's properties (`systemctl show`) and the owners of the GPU device
nodes. The verdict itself is status.gpu_use's (`server_verdict`, the one `llmctl
status` gives too), on the llama-server start status.server_log finds in the journal."""

from __future__ import annotations

import shlex

# Device nodes a backend opens (their group must be one of the service's).
GPU_DEVICES = {
    "rocm": ("/dev/kfd", "/dev/dri/renderD128"),
    "vulkan": ("/dev/dri/renderD128",),
    "cuda": ("/dev/nvidiactl", "/dev/nvidia0"),
}
UNIT_PROPERTIES = ("InvocationID", "User", "SupplementaryGroups", "Environment")


def unit_properties(show_output: str) -> dict[str, str]:
    """`systemctl show -p A -p B UNIT` output as a dict."""
    found = {}
    for line in show_output.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            found[key.strip()] = value.strip()
    return found


def hsa_override(properties: dict[str, str]) -> str | None:
    """HSA_OVERRIDE_GFX_VERSION from a unit's Environment= (space-separated, possibly quoted)."""
    for item in shlex.split(properties.get("Environment", "")):
        name, _, value = item.partition("=")
        if name == "HSA_OVERRIDE_GFX_VERSION":
            return value
    return None


def device_access(backend: str, nodes: dict[str, tuple[str, int]], groups: set[str]) -> bool | None:
    """Whether a service in `groups` may open the backend's device nodes (path -> (group,
    mode)); None when the host has none of them (no driver loaded: not a group problem)."""
    present = [nodes[path] for path in GPU_DEVICES.get(backend, ()) if path in nodes]
    if not present:
        return None
    return all(mode & 0o006 == 0o006 or (group in groups and mode & 0o060 == 0o060) for group, mode in present)
