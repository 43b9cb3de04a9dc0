# Facts the NixOS modules and the stack spec share, written once: the roles of a
# dedicated llama-server, default ports and the paths of the stack's files come from
# llmctl's data/defaults.json (llmctl reads the same file); where a service listens
# (loopback, or every interface once its port is opened) is decided here.
let
  inherit (import ./data.nix) defaults;
in
rec {
  inherit (defaults) roles ports paths;

  loopback = "127.0.0.1";
  # A service whose port is opened listens on all interfaces; any other on loopback.
  bindAddress = opened: if opened then "0.0.0.0" else loopback;

  # What upstream's Open WebUI and LiteLLM modules set by default: no telemetry.
  telemetryOptOuts = {
    SCARF_NO_ANALYTICS = "True";
    DO_NOT_TRACK = "True";
    ANONYMIZED_TELEMETRY = "False";
  };

  # The gateway's unit: that of the upstream module of its kind (envoy, litellm).
  gatewayUnit = kind: "${kind}.service";
  # A file a unit is given with LoadCredential=NAME:FILE, where the unit reads it.
  credential = unit: name: "/run/credentials/${unit}/${name}";
  # The gateway's API keys where it reads them: its systemd credential (LoadCredential=api-keys:FILE).
  gatewayApiKeys = kind: credential (gatewayUnit kind) "api-keys";
}
