"""How the modules sit on the real upstream modules: options upstream needs defined,
defaults it would lose, values a host overrides, an upstream rename, unit ordering."""

from __future__ import annotations

import re

import pytest

from testkit.nixeval_modules import evaluate_host, nixpkgs_libs, nixpkgs_root, seed_host


def host_file(tmp_path, text: str):
    host = tmp_path / "host.nix"
    host.write_text(text)
    return host


def test_llama_swap_settings_is_defined_and_a_host_setting_warns(tmp_path):
    """Upstream's ExecStart reads services.llama-swap.settings, which has no default: on
    the older lib an undefined one fails the evaluation. Ours replaces ExecStart, so a
    host's settings would be silently dead: they get a warning."""
    host = host_file(
        tmp_path,
        "{ services.local-llm = { enable = true; llamaSwap.enable = true; };"
        " services.llama-swap.settings.healthCheckTimeout = 60; }",
    )
    for lib in nixpkgs_libs():
        warnings = evaluate_host(host, lib=lib)["warnings"]
        assert len(warnings) == 1 and warnings[0].startswith(
            f"services.llama-swap.settings (set in {host}) is not used"
        )
        assert "services.local-llm.models" in warnings[0]


def test_open_webui_keeps_upstream_telemetry_opt_outs(nas01):
    environment = nas01["units"]["open-webui"]["environment"]
    assert {
        name: environment.get(name) for name in ("ANONYMIZED_TELEMETRY", "DO_NOT_TRACK", "SCARF_NO_ANALYTICS")
    } == {
        "ANONYMIZED_TELEMETRY": "False",
        "DO_NOT_TRACK": "True",
        "SCARF_NO_ANALYTICS": "True",
    }
    assert 'Environment="DO_NOT_TRACK=True"' in nas01["units"]["open-webui"]["text"]


def test_host_overrides_each_scalar_we_set_on_an_upstream_module(tmp_path):
    """No mkForce needed: our scalars on upstream options are defaults."""
    host = host_file(
        tmp_path,
        """{ pkgs, ... }: {
  services.local-llm = {
    enable = true;
    gpu.profile = "rx-7600";
    llamaSwap.enable = true;
    ollama.enable = true;
    webui = { enable = true; environmentFile = "/run/secrets/webui.env"; };
  };
  services.ollama = {
    package = pkgs.ollama-vulkan;
    host = "10.0.0.5";
    port = 11500;
    rocmOverrideGfx = "10.3.0";
    models = "/srv/ollama";
  };
  services.llama-swap = { package = pkgs.llama-swap.override { withUI = false; }; port = 8091; };
  services.open-webui = { host = "10.0.0.5"; port = 3002; environmentFile = "/run/secrets/other.env"; };
}
""",
    )
    summary = evaluate_host(host)
    ollama = summary["ollama"]
    assert "-ollama-vulkan" in ollama["package"]
    assert (ollama["host"], ollama["port"], ollama["rocmOverrideGfx"]) == ("10.0.0.5", 11500, "10.3.0")
    assert ollama["models"] == "/srv/ollama"
    assert summary["units"]["ollama"]["environment"]["OLLAMA_HOST"] == "10.0.0.5:11500"
    swap = summary["llamaSwap"]
    assert swap["port"] == 8091
    assert summary["units"]["llama-swap"]["serviceConfig"]["ExecStart"].startswith(
        f"{swap['package']}/bin/llama-swap -listen 127.0.0.1:8091 "
    ), "the overridden package and port are the ones started"
    webui = summary["webui"]
    assert (webui["host"], webui["port"], webui["environmentFile"]) == ("10.0.0.5", 3002, "/run/secrets/other.env")


def renamed_ollama_module(folder) -> str:
    """nixpkgs' ollama.nix as it is after 26.05 (PR #537550): `models` renamed `modelsDir`,
    the old name kept as an alias. Made from the data folder's copy at test time."""
    text = (nixpkgs_root() / "nixos/modules/services/misc/ollama.nix").read_text()
    edits = [
        ("      models = lib.mkOption {", "      modelsDir = lib.mkOption {"),
        ("cfg.models", "cfg.modelsDir"),
        (
            "  imports = [\n",
            "  imports = [\n"
            '    (lib.mkRenamedOptionModule [ "services" "ollama" "models" ] [ "services" "ollama" "modelsDir" ])\n',
        ),
    ]
    for old, new in edits:
        assert old in text, f"the data folder's ollama.nix has no {old!r}"
        text = text.replace(old, new)
    path = folder / "ollama.nix"
    path.write_text(text)
    return str(path)


def test_ollama_models_folder_on_an_upstream_that_renamed_the_option(tmp_path):
    renamed = renamed_ollama_module(tmp_path)
    summary = evaluate_host(seed_host("nas-01"), upstream_overrides={"services/misc/ollama.nix": renamed})
    assert summary["warnings"] == [], "no option-renamed warning"
    assert summary["ollama"]["models"] == "/models/ollama"
    assert summary["units"]["ollama"]["environment"]["OLLAMA_MODELS"] == "/models/ollama"


def ordering(summary: dict) -> set[tuple[str, str]]:
    """(earlier, later) unit pairs from the After=/Before= lines of every rendered unit."""
    pairs = set()
    units = {f"{name}.service": unit for name, unit in summary["units"].items()}
    units |= {f"{name}.path": unit for name, unit in summary["paths"].items()}
    for name, unit in units.items():
        for key, others in re.findall(r"^(After|Before)=(.*)$", unit["text"], re.MULTILINE):
            for other in others.split():
                pairs.add((other, name) if key == "After" else (name, other))
    return pairs


def test_nas01_starts_what_uses_the_models_dataset_after_it_is_mounted(nas01):
    pairs = ordering(nas01)
    for later in ("local-llm-discover.service", "local-llm-discover.path", "llama-swap.service", "ollama.service"):
        assert ("local-llm-dataset.service", later) in pairs, later
    # Ollama's folder on the dataset is made after the mount, never by tmpfiles before it.
    assert not [rule for rule in nas01["tmpfiles"] if "/models/ollama" in rule]
    script = nas01["units"]["local-llm-dataset"]["script"]
    mounted = script.index('zfs mount "$dataset"')
    assert script.index("install -d -m 0750 -o ollama -g ollama /models/ollama") > mounted


@pytest.mark.parametrize("host", ["strix-halo", "atlas"])
def test_without_a_dataset_folders_come_from_tmpfiles(module_eval, host):
    summary = module_eval(host)
    assert "local-llm-dataset" not in summary["units"]
    assert "d /var/lib/local-llm/models 0755 local-llm local-llm - -" in summary["tmpfiles"]


GPU_GROUPS = ["render", "video"]
USERS = {
    # services.local-llm.user, what the host defines, the account the evaluation gives
    "our own default": ("local-llm", "", ("local-llm", "/var/lib/local-llm", True)),
    "another name of our own": ("llm", "", ("local-llm", "/var/lib/local-llm", True)),
    "root": ("root", "", ("root", "/root", False)),
    "a normal user": ("alice", "users.users.alice.isNormalUser = true;", ("users", "/home/alice", False)),
    "a system user of the host": (
        "svc",
        'users.users.svc = { isSystemUser = true; group = "svc"; home = "/srv/svc"; }; users.groups.svc = { };',
        ("svc", "/srv/svc", True),
    ),
}


@pytest.mark.parametrize("case", sorted(USERS))
def test_a_user_another_module_defines_keeps_its_account(tmp_path, case):
    """Our user's scalars are defaults: root or a host's user is not a conflict, and
    only gets the GPU groups."""
    user, defined, (group, home, system) = USERS[case]
    body = f'services.local-llm = {{ enable = true; llamaSwap.enable = true; user = "{user}"; }};'
    host = host_file(tmp_path, f"{{ {body} {defined} }}")
    for lib in nixpkgs_libs():
        summary = evaluate_host(host, lib=lib)
        account = summary["users"][user]
        assert (account["group"], account["home"], account["isSystemUser"]) == (group, home, system)
        assert sorted(account["extraGroups"]) == GPU_GROUPS
        assert summary["assertions"] == []
        assert summary["units"]["local-llm-discover"]["serviceConfig"]["User"] == user
