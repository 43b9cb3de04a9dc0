# A minimal stand-in for nixpkgs' package set: derivation-shaped attrsets with the
# attributes the modules read (outPath, name, meta.mainProgram, override), so that
# the options and units the modules produce can be inspected without building.
{ lib }:
let
  fake =
    name: args:
    {
      type = "derivation";
      inherit name;
      pname = name;
      version = "0";
      outPath = "/nix/store/00000000000000000000000000000000-${name}";
      meta.mainProgram = name;
      passthru.overrideArgs = args;
      overrideArgs = args;
      override = newArgs: fake name (args // newArgs);
    };
  packages = lib.genAttrs [
    "llama-cpp"
    "llama-swap"
    "ollama"
    "ollama-rocm"
    "ollama-vulkan"
    "ollama-cuda"
    "open-webui"
    "envoy"
    "zfs"
    "coreutils"
    "systemd"
  ] (name: fake name { });
in
packages
// {
  callPackage = path: args: fake (baseNameOf (toString path)) args;
  writeShellScript = name: text: fake name { inherit text; };
  writeText = name: text: fake name { inherit text; };
  formats = {
    json = _: {
      type = lib.types.attrsOf lib.types.anything;
      generate = name: value: fake name { inherit value; };
    };
    yaml = _: {
      type = lib.types.attrsOf lib.types.anything;
      generate = name: value: fake name { inherit value; };
    };
  };
  stdenv.hostPlatform.system = "x86_64-linux";
}
