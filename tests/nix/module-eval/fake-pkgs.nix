# A stand-in for nixpkgs' package set, for evaluating modules without nixpkgs.
# Packages are derivation-shaped attrsets (outPath, name, meta.mainProgram, override,
# overrideAttrs) that are never built. Every store path is derived from what goes into
# it, so a generated file's path changes with its content, as in nixpkgs: a test sees
# that a value reached a file by the path changing, and reads the content back from
# the derivation's `text` (what the module evaluation summary exposes).
{ lib }:
let
  storePath =
    name: content: "/nix/store/${builtins.substring 0 32 (builtins.hashString "sha256" "${name}\n${content}")}-${name}";

  # `content` is what the derivation is built from; `text` is the file a writer produces.
  fakeDerivation =
    {
      name,
      content ? name,
      text ? null,
      mainProgram ? lib.getName name,
      passthru ? { },
      overrideArgs ? { },
    }@attrs:
    let
      self = {
        type = "derivation";
        inherit name text overrideArgs;
        pname = lib.getName name;
        version = "0";
        outPath = storePath name content;
        drvPath = storePath "${name}.drv" content;
        outputs = [ "out" ];
        outputName = "out";
        out = self;
        meta = { inherit mainProgram; };
        passthru = passthru // {
          inherit overrideArgs;
        };
        # `override` changes the build: the path follows the arguments.
        override =
          newArgs:
          let
            args = overrideArgs // (if lib.isFunction newArgs then newArgs overrideArgs else newArgs);
          in
          fakeDerivation (
            attrs
            // {
              overrideArgs = args;
              content = "${content}\n${builtins.toJSON args}";
            }
          );
        overrideAttrs =
          f:
          let
            changed = if lib.isFunction f then f self else f;
          in
          fakeDerivation (
            attrs
            // lib.optionalAttrs (changed ? name) { inherit (changed) name; }
            // {
              content = "${content}\n${builtins.toJSON (removeAttrs changed [ "passthru" ])}";
            }
          );
      }
      // passthru;
    in
    self;

  package = name: fakeDerivation { inherit name; };
  # A variant of a package (ollama-rocm): its own path, the same program name.
  variant =
    base: name:
    fakeDerivation {
      inherit name;
      mainProgram = base;
    };

  # Only strings, numbers, lists and attrsets enter a path's hash (functions would not
  # serialise); a derivation enters by its path.
  serialise = value: builtins.toJSON (lib.filterAttrsRecursive (_: v: !lib.isFunction v) value);

  writeTextFile =
    {
      name,
      text,
      executable ? false,
      destination ? "",
      ...
    }:
    fakeDerivation {
      inherit name text;
      content = "${toString executable}${destination}\n${text}";
      mainProgram = if destination == "" then name else baseNameOf destination;
    };

  writeText = name: text: writeTextFile { inherit name text; };

  writeShellScript =
    name: text:
    writeTextFile {
      inherit name;
      executable = true;
      text = "#!${runtimeShell}\n${text}\n";
    };

  writeShellScriptBin =
    name: text:
    writeTextFile {
      inherit name;
      executable = true;
      destination = "/bin/${name}";
      text = "#!${runtimeShell}\n${text}\n";
    };

  runtimeShell = "${packages.bash}/bin/bash";

  # Like stdenv.mkDerivation, `passthru` attributes appear on the result.
  runCommand =
    name: env: script:
    fakeDerivation {
      inherit name;
      content = "${serialise env}\n${script}";
      passthru = env.passthru or { };
    };

  # The JSON and YAML formats of pkgs/pkgs-lib/formats.nix: the same value type, and a
  # generator whose output path depends on the value.
  serialisedFormat =
    typeName:
    { }:
    {
      type =
        let
          valueType =
            lib.types.nullOr (
              lib.types.oneOf [
                lib.types.bool
                lib.types.int
                lib.types.float
                lib.types.str
                lib.types.path
                (lib.types.attrsOf valueType)
                (lib.types.listOf valueType)
              ]
            )
            // {
              description = "${typeName} value";
            };
        in
        valueType;
      generate = name: value: writeText name (builtins.toJSON value);
    };

  packages = lib.genAttrs [
    "bash"
    "coreutils"
    "envoy"
    "findutils"
    "fish"
    "gawk"
    "gnugrep"
    "gnused"
    "iptables"
    "jq"
    "litellm"
    "kmod"
    "llama-swap"
    "nftables"
    "nixos-firewall-tool"
    "ollama"
    "open-webui"
    "parallel"
    "shadow"
    "systemd"
    "util-linux"
    "xonsh"
    "zfs"
    "zsh"
  ] package
  // lib.genAttrs [ "ollama-cuda" "ollama-rocm" "ollama-vulkan" ] (variant "ollama")
  // {
    # nixpkgs' llama-cpp names its main program `llama`; llama-server is beside it.
    llama-cpp = fakeDerivation {
      name = "llama-cpp";
      mainProgram = "llama";
    };
  };
in
packages
// {
  inherit
    runtimeShell
    runCommand
    writeText
    writeTextFile
    writeShellScript
    writeShellScriptBin
    ;
  runCommandLocal = runCommand;
  writeShellApplication =
    {
      name,
      text,
      ...
    }:
    writeShellScriptBin name text;
  writeScriptBin =
    name: text:
    writeTextFile {
      inherit name text;
      executable = true;
      destination = "/bin/${name}";
    };
  writeTextDir =
    path: text:
    writeTextFile {
      name = baseNameOf path;
      inherit text;
      destination = "/${path}";
    };
  symlinkJoin = args: runCommand args.name (removeAttrs args [ "name" ]) "";
  buildEnv = args: runCommand args.name (removeAttrs args [ "name" ]) "";
  linkFarm = name: entries: runCommand name { inherit entries; } "";
  callPackage =
    path: overrides:
    fakeDerivation {
      name = baseNameOf (toString path);
      content = "${toString path}\n${serialise overrides}";
      overrideArgs = overrides;
    };
  formats = {
    json = serialisedFormat "JSON";
    yaml = serialisedFormat "YAML 1.1";
  };
  # users-groups.nix names them in its check of password hashes.
  libxcrypt.enabledCryptSchemeIds = [
    "y"
    "gy"
    "7"
    "2b"
    "2y"
    "2a"
    "6"
    "5"
  ];
  buildPackages = packages;
  # The kernel the firewall module inspects (rpfilter support, version).
  linuxPackages.kernel = package "linux" // {
    version = "6.12.0";
    features.netfilterRPFilter = true;
  };
  stdenv = {
    hostPlatform = lib.systems.elaborate "x86_64-linux";
    buildPlatform = lib.systems.elaborate "x86_64-linux";
    isLinux = true;
  };
}
