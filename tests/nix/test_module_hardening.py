"""Every unit of ours runs in one shared sandbox (nix/lib/hardening.nix), checked on
the units the seed hosts render."""

from __future__ import annotations

# What every unit of ours has, the root dataset oneshot included.
BASE = {
    "LockPersonality": True,
    "NoNewPrivileges": True,
    "ProtectHostname": True,
    "RemoveIPC": True,
    "RestrictRealtime": True,
    "RestrictSUIDSGID": True,
    "SystemCallArchitectures": "native",
}
# What every unprivileged unit adds (all but the dataset oneshot).
SERVICE = {
    "CapabilityBoundingSet": [""],
    "PrivateTmp": True,
    "ProtectClock": True,
    "ProtectControlGroups": True,
    "ProtectHome": True,
    "ProtectKernelLogs": True,
    "ProtectKernelModules": True,
    "ProtectKernelTunables": True,
    "ProtectProc": "invisible",
    "ProtectSystem": "strict",
    "RestrictAddressFamilies": ["AF_INET", "AF_INET6", "AF_UNIX"],
    "RestrictNamespaces": True,
    "SystemCallFilter": ["@system-service", "~@privileged"],
}


def our_units(*summaries) -> dict[str, dict]:
    return {
        name: unit["serviceConfig"]
        for summary in summaries
        for name, unit in summary["units"].items()
        if name.startswith("local-llm-")
    }


def test_every_unit_of_ours_shares_the_sandbox(strix_halo, nas01):
    units = our_units(strix_halo, nas01)
    assert {"local-llm-chat", "local-llm-models", "local-llm-discover", "local-llm-dataset"} <= set(units)
    for name, config in units.items():
        assert {key: config.get(key) for key in BASE} == BASE, name
        if name != "local-llm-dataset":
            assert {key: config.get(key) for key in SERVICE} == SERVICE, name
            assert config["ProcSubset"] in ("pid", "all"), name
    dataset = units["local-llm-dataset"]
    assert "ProtectSystem" not in dataset and "PrivateTmp" not in dataset, "its mount must be seen by every unit"


def test_llama_servers_reach_gpus_by_device_class_only(strix_halo):
    for role in ("chat", "embedding", "rerank"):
        config = strix_halo["units"][f"local-llm-{role}"]["serviceConfig"]
        assert config["DevicePolicy"] == "closed" and config["PrivateDevices"] is False
        assert config["DeviceAllow"] == [
            "char-drm rw",
            "char-kfd rw",
            "char-nvidiactl rw",
            "char-nvidia-caps rw",
            "char-nvidia-frontend rw",
            "char-nvidia-uvm rw",
        ]
        assert config["SupplementaryGroups"] == ["render", "video"]
        assert config["MemoryDenyWriteExecute"] is False, "ROCm and RADV compile GPU code at run time"
    for name in ("local-llm-models",):
        config = strix_halo["units"][name]["serviceConfig"]
        assert config["PrivateDevices"] is True and config["MemoryDenyWriteExecute"] is True


def test_the_fetcher_retries_with_a_bounded_backoff(strix_halo):
    text = strix_halo["units"]["local-llm-models"]["text"]
    for line in ("Restart=on-failure", "RestartSec=10s", "RestartSteps=10", "RestartMaxDelaySec=1h"):
        assert f"\n{line}\n" in text
