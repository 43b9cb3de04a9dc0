# /etc/local-llm/stack.json as a host has it: lib.stackJson plus what llmctl verify
# checks on the host: services reached from outside (on all interfaces, port open), the
# models folder's owner, which files hold secrets and which files the stack generates
# (none may contain a secret). The NixOS module and `llmctl render` write this document.
let
  stack = import ./stack.nix;
  facts = import ./defaults.nix;
in
{
  stackDocument =
    input:
    let
      spec = stack.normalize input;
      base = stack.stackJson input;
      opened = name: spec.opened.${name} or false;
      envoy = spec.gateway.enable && spec.gateway.kind == "envoy";
      litellm = spec.gateway.enable && spec.gateway.kind == "litellm";
    in
    base
    // {
      endpoints = builtins.mapAttrs (
        name: endpoint:
        if opened name then
          endpoint
          // {
            url = "http://${spec.host}:${toString spec.${name}.port}";
            openFirewall = true;
          }
        else
          endpoint
      ) base.endpoints;
      modelsDirOwner = "${spec.user}:${spec.group}";
      modelsDirMode = "0755";
      secrets.files = builtins.filter (file: file != null) [
        (stack.gatewayKeyFile spec)
        spec.webui.secretKeyFile
        spec.secrets.huggingFaceTokenFile
      ];
      generatedConfigs = [
        facts.paths.stackFile
      ]
      ++ (if spec.llamaSwap.enable then [ spec.llamaSwap.configFile ] else [ ])
      ++ (if envoy then [ facts.paths.envoyConfig ] else [ ])
      ++ (if litellm then [ facts.paths.litellmConfig ] else [ ]);
    };
}
