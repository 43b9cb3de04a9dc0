# The stack as a whole: user, models folder, the stack spec handed to nix/lib and to
# llmctl (/etc/local-llm/stack.json), and llmctl itself.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.local-llm;
  generators = import ../lib;
  # stack.json with what verify checks on the host (opened services, secret files, ...).
  stackDocument = generators.stackDocument cfg.stackInput;
  # CONFIGURATION.md, written at build time by llmctl's template from nix/lib's facts (the
  # same facts `llmctl render` uses; no model file is there, so no memory plan).
  configurationFacts = generators.configurationFacts cfg.stackInput;
  configurationDoc =
    pkgs.runCommand "local-llm-CONFIGURATION.md"
      {
        nativeBuildInputs = [ cfg.package ];
        facts = builtins.toJSON configurationFacts;
        passAsFile = [ "facts" ];
        passthru.facts = configurationFacts;
      }
      ''
        llmctl render --configuration-from "$factsPath" --output "$TMPDIR/doc"
        cp "$TMPDIR/doc/CONFIGURATION.md" "$out"
      '';
  # services.ollama creates its own static user (home /var/lib/ollama); it cannot be ours.
  sharesOllamaUser = cfg.ollama.enable && cfg.user == config.services.ollama.user;
  account = config.users.users.${cfg.user};
in
{
  options.services.local-llm = {
    enable = lib.mkEnableOption "a private LLM host (llama.cpp, llama-swap, Ollama, Open WebUI, Envoy gateway)";

    package = lib.mkOption {
      type = lib.types.package;
      default = pkgs.callPackage ../packages/llmctl { };
      defaultText = lib.literalExpression "local-llm's llmctl package";
      example = lib.literalExpression "inputs.local-llm.packages.\${pkgs.stdenv.hostPlatform.system}.llmctl";
      description = "The llmctl package: discovery, downloads, status, planning and verification.";
    };

    modelsDir = lib.mkOption {
      type = lib.types.str;
      default = generators.paths.modelsDir;
      example = "/models";
      description = "Folder holding the GGUF files. llama-swap serves every model found in it.";
    };

    user = lib.mkOption {
      type = lib.types.str;
      default = "local-llm";
      example = "llm";
      description = ''
        User owning the models folder and running the llama-servers and discovery. Made
        a system user in {option}`services.local-llm.group` unless another module defines
        it (root, a normal user): that account is kept as it is and only joins the groups
        of the GPU device nodes. Ollama's user is refused (services.ollama creates it).
      '';
    };

    group = lib.mkOption {
      type = lib.types.str;
      default = "local-llm";
      example = "llm";
      description = "Group of {option}`services.local-llm.user`.";
    };

    description = lib.mkOption {
      type = lib.types.nullOr lib.types.lines;
      default = null;
      example = "Strix Halo workstation: one dedicated server per role behind the gateway.";
      description = "What this host is for, in a few sentences: the opening of its CONFIGURATION.md.";
    };

    huggingFace.tokenFile = lib.mkOption {
      type = lib.types.nullOr lib.types.path;
      default = null;
      example = "/run/secrets/hf-token";
      description = ''
        File holding a Hugging Face token for gated repositories. Read at download
        time; never copied into the Nix store.
      '';
    };

    stackInput = lib.mkOption {
      type = lib.types.raw;
      internal = true;
      readOnly = true;
      description = "The stack spec attrset nix/lib takes, translated from these options (stack-input.nix).";
    };

    spec = lib.mkOption {
      # raw: not merged or inspected, so a profile error surfaces as its assertion.
      type = lib.types.raw;
      internal = true;
      readOnly = true;
      description = "The stack spec built from these options, as nix/lib normalises it.";
    };

    folders = lib.mkOption {
      type = lib.types.attrsOf (
        lib.types.submodule {
          options = {
            user = lib.mkOption { type = lib.types.str; };
            group = lib.mkOption { type = lib.types.str; };
            mode = lib.mkOption { type = lib.types.str; };
          };
        }
      );
      internal = true;
      visible = false;
      default = { };
      description = ''
        Folders inside the models folder that services need, by path: made by
        systemd-tmpfiles, or on a ZFS dataset after it is mounted (a folder made before
        would be hidden by the mount).
      '';
    };

    stackFile = lib.mkOption {
      type = lib.types.str;
      default = generators.paths.stackFile;
      readOnly = true;
      description = "Where the stack spec for llmctl is written.";
    };
  };

  config = lib.mkMerge [
    {
      services.local-llm.stackInput = import ./stack-input.nix { inherit config lib; };
      services.local-llm.spec = generators.normalize cfg.stackInput;
    }
    (lib.mkIf cfg.enable {
      assertions = [
        {
          assertion = !sharesOllamaUser;
          message = "services.local-llm.user = \"${cfg.user}\" is the user services.ollama creates for Ollama (home /var/lib/ollama); set services.local-llm.user to another name (the default is \"local-llm\"), or remove it";
        }
      ];
      users.users.${cfg.user} = lib.mkIf (!sharesOllamaUser) {
        # The groups of the GPU device nodes.
        extraGroups = (import ../lib/hardening.nix).gpuGroups;
        # A user of our own becomes a system user in our group, at home in the state
        # folder; one another module defines (root, a normal user) keeps its account.
        isSystemUser = lib.mkIf (!account.isNormalUser && account.uid == null) (lib.mkDefault true);
        group = lib.mkIf (!account.isNormalUser) (lib.mkDefault cfg.group);
        home = lib.mkIf (!account.isNormalUser) (lib.mkDefault generators.paths.stateDir);
      };
      users.groups.${cfg.group} = { };

      systemd.tmpfiles.rules = [
        "d ${generators.paths.stateDir} 0755 ${cfg.user} ${cfg.group} - -"
        "d ${cfg.modelsDir} 0755 ${cfg.user} ${cfg.group} - -"
      ]
      ++ lib.optionals (cfg.zfs.dataset == null) (
        lib.mapAttrsToList (path: f: "d ${path} ${f.mode} ${f.user} ${f.group} - -") cfg.folders
      );

      environment.etc.${lib.removePrefix "/etc/" cfg.stackFile}.text = builtins.toJSON stackDocument;
      environment.etc.${lib.removePrefix "/etc/" generators.paths.configurationDoc}.source = configurationDoc;
      environment.systemPackages = [ cfg.package ];
    })
  ];
}
