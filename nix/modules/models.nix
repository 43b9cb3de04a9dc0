# Declared models, and the oneshot that fetches them (idempotent, like Ollama's loadModels).
{
  config,
  lib,
  ...
}:
let
  cfg = config.services.local-llm;
  scripts = import ./scripts.nix { inherit lib; };
  hardening = import ../lib/hardening.nix;
  sourced = lib.filterAttrs (_: m: m.source != null) cfg.models;
  llmctl = lib.getExe cfg.package;
  modelOptions = import ./model-options.nix { inherit lib; };

  # A model is fetched into modelsDir/NAME once; the marker records from where, so an
  # offline boot does not need the Hub and a changed source is fetched again.
  fetch =
    name: m:
    let
      folder = "${cfg.modelsDir}/${name}";
      target = lib.escapeShellArg folder;
      marker = "${target}/.local-llm-source";
      fetchCommand =
        if lib.hasPrefix "hf:" m.source then
          "${llmctl} download ${lib.escapeShellArg (lib.removePrefix "hf:" m.source)} --models-dir ${target}"
          + lib.optionalString (cfg.huggingFace.tokenFile != null) " --token-file \"$CREDENTIALS_DIRECTORY/hf-token\""
        else
          let
            from = lib.removePrefix "file:" m.source;
          in
          # Copied under a dot name, then renamed: discovery never sees a partial file.
          # Two commands, not `a && b`: `set -e` ignores a failure on the left of `&&`.
          ''
            cp --reflink=auto ${lib.escapeShellArg from} ${target}/.incoming.part
            mv ${target}/.incoming.part ${target}/${lib.escapeShellArg (baseNameOf from)}
          '';
    in
    ''
      if [ "$(cat ${marker} 2>/dev/null)" != ${lib.escapeShellArg m.source} ] \
        || [ -z "$(${scripts.ggufFiles folder ""} -quit 2>/dev/null)" ]; then
        install -d -m 0755 ${target}
        ${fetchCommand}
        printf '%s\n' ${lib.escapeShellArg m.source} > ${marker}
        changed=1
      fi
    '';

in
{
  options.services.local-llm.models = lib.mkOption {
    type = lib.types.attrsOf (lib.types.submodule modelOptions);
    default = { };
    example = lib.literalExpression ''
      {
        devstral = { source = "hf:unsloth/Devstral-2-123B-Instruct-2512-GGUF:Q4_K_M"; serve = "dedicated"; };
        qwen3-embedding = { source = "hf:Qwen/Qwen3-Embedding-8B-GGUF:Q8_0"; role = "embedding"; };
      }
    '';
    description = "Models this host serves, fetched at boot when they have a source.";
  };

  config = lib.mkIf (cfg.enable && sourced != { }) {
    systemd.services.local-llm-models = {
      description = "Fetch the declared local-llm models";
      wantedBy = [ "multi-user.target" ];
      wants = [ "network-online.target" ];
      after = [ "network-online.target" ];
      # Fetching is idempotent: present, verified files are not downloaded again.
      script = ''
        changed=
        ${lib.concatStringsSep "\n" (lib.mapAttrsToList fetch sourced)}
        if [ -n "$changed" ]; then
          ${scripts.announceChange cfg.modelsDir}
        fi
      '';
      serviceConfig = hardening.service // {
        Type = "oneshot";
        RemainAfterExit = true;
        User = cfg.user;
        Group = cfg.group;
        LoadCredential = lib.optional (cfg.huggingFace.tokenFile != null) "hf-token:${cfg.huggingFace.tokenFile}";
        ReadWritePaths = [ cfg.modelsDir ];
        # llama-swap's processes run under another user: models stay world-readable.
        UMask = "0022";
        # A download interrupted by a reboot or a network outage resumes on a later
        # start: retries back off from 10 s to an hour.
        Restart = "on-failure";
        RestartSec = "10s";
        RestartSteps = 10;
        RestartMaxDelaySec = "1h";
      };
    };
  };
}
