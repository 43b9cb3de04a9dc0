# Dedicated llama-servers: one per role (chat, embedding, rerank) for models declared
# with serve = "dedicated", in the shared sandbox with GPU device access only.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.local-llm;
  shared = import ./shared-options.nix { inherit lib; };
  scripts = import ./scripts.nix { inherit lib; };
  services = import ../lib/services.nix;
  generators = import ../lib;
  inherit (generators) ports roles;

  roleOptions = role: {
    port = shared.port ports.${role} "Port of the dedicated ${role} llama-server.";
    fallbacks = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ ];
      example = [ "http://10.0.0.2:${toString ports.${role}}" ];
      description = "Endpoints the gateway fails over to when this ${role} server is down.";
    };
  };

  unit =
    role: d:
    let
      model = cfg.models.${d.model};
      argv = generators.dedicatedServerArgv cfg.stackInput role;
      # Declared by source only: the model was fetched into a folder; serve its first GGUF.
      folder = "${cfg.modelsDir}/${d.model}";
      launcher = pkgs.writeShellScript "local-llm-${role}" (
        if model.file != null then
          "exec ${lib.escapeShellArgs argv}"
        else
          ''
            model=$(${scripts.ggufFiles folder "! -name 'mmproj*'"} | sort | head -n 1)
            if [ -z "$model" ]; then
              echo "no GGUF in ${folder} yet: is local-llm-models.service done?" >&2
              exit 1
            fi
            args=(${lib.escapeShellArgs argv})
            for i in "''${!args[@]}"; do
              if [ "''${args[$i]}" = ${lib.escapeShellArg folder} ]; then args[$i]=$model; fi
            done
            exec "''${args[@]}"
          ''
      );
    in
    {
      description = "llama-server for ${role} (${d.model})";
      wantedBy = [ "multi-user.target" ];
      wants = [ "local-llm-models.service" ];
      after = [ "local-llm-models.service" ];
      environment = cfg.spec.hardware.environment;
      serviceConfig = services.dedicatedServer cfg.spec role // {
        ExecStart = launcher;
      };
    };
in
{
  options.services.local-llm.dedicated = lib.genAttrs roles roleOptions;

  config = lib.mkIf cfg.enable {
    assertions = lib.concatMap (role: [
      {
        assertion =
          lib.length (lib.attrNames (lib.filterAttrs (_: m: m.serve == "dedicated" && m.role == role) cfg.models)) <= 1;
        message = "services.local-llm.models: more than one model is declared with serve = \"dedicated\" and role = \"${role}\"; a role has one dedicated server";
      }
    ]) roles
    ++ lib.mapAttrsToList (name: m: {
      assertion = m.serve != "dedicated" || m.file != null || m.source != null;
      message = "services.local-llm.models.${name}: a dedicated model needs a file or a source";
    }) cfg.models;

    systemd.services = lib.mapAttrs' (role: d: lib.nameValuePair "local-llm-${role}" (unit role d)) cfg.spec.dedicated;
  };
}
