# The Docker route: a compose document running the same services as the units
# (units.nix) from the same rendered files. Every service uses the host's network, so
# addresses and ports are those of stack.json; configs and models are mounted at the
# paths the files name. Secrets stay in their files, mounted read-only where the
# programs look for them. Images follow the GPU backend; `images` overrides any.
let
  helpers = import ./helpers.nix;
  dedicated = import ./dedicated.nix;
  litellm = import ./litellm.nix;
  services = import ./services.nix;
  facts = import ./defaults.nix;
  inherit (helpers) optionalAttrs optional;

  # The projects' published images (llama.cpp docs/docker.md, llama-swap's README,
  # Ollama's and Open WebUI's docs, Envoy's and LiteLLM's registries).
  defaultImages = backend: {
    llama-server =
      {
        cuda = "ghcr.io/ggml-org/llama.cpp:server-cuda";
        rocm = "ghcr.io/ggml-org/llama.cpp:server-rocm";
        vulkan = "ghcr.io/ggml-org/llama.cpp:server-vulkan";
      }
      .${backend} or "ghcr.io/ggml-org/llama.cpp:server";
    llama-swap =
      {
        cuda = "ghcr.io/mostlygeek/llama-swap:cuda";
        rocm = "ghcr.io/mostlygeek/llama-swap:rocm";
        vulkan = "ghcr.io/mostlygeek/llama-swap:vulkan";
      }
      .${backend} or "ghcr.io/mostlygeek/llama-swap:cpu";
    ollama = if backend == "rocm" then "ollama/ollama:rocm" else "ollama/ollama:latest";
    open-webui = "ghcr.io/open-webui/open-webui:main";
    envoy = "envoyproxy/envoy:v1.36-latest";
    litellm = "ghcr.io/berriai/litellm:main-stable";
  };

  # GPU access by backend: device nodes for AMD (KFD, DRM), a device request for NVIDIA.
  gpuAccess =
    backend:
    if backend == "cuda" then
      {
        deploy.resources.reservations.devices = [
          {
            driver = "nvidia";
            count = "all";
            capabilities = [ "gpu" ];
          }
        ];
      }
    else if backend == "rocm" || backend == "vulkan" then
      {
        devices = optional (backend == "rocm") "/dev/kfd" ++ [ "/dev/dri" ];
        group_add = [
          "video"
          "render"
        ];
      }
    else
      { };

  readOnly = path: "${path}:${path}:ro";

  composeDocument =
    {
      spec,
      input,
      etcDir,
      gatewayKeys,
      bindOf,
      images ? { },
    }:
    let
      backend = spec.hardware.backend;
      swapConfig = spec.llamaSwap.configFile;
      image = defaultImages backend // images;
      base = {
        network_mode = "host";
        restart = "unless-stopped";
      };
      llamaServer = role: d: {
        name = "llama-server-${role}";
        value =
          base
          // gpuAccess backend
          // {
            image = image.llama-server;
            env_file = [ "${etcDir}/llama-server/${role}.env" ];
            environment = spec.hardware.environment;
            # The image's entrypoint is llama-server; the env file holds the flag table.
            command = builtins.tail (dedicated.dedicatedServerEnv input role).args;
            volumes = [ (readOnly spec.modelsDir) ];
          };
      };
    in
    {
      # Compose file format 3.8: what docker compose v2 and Debian's docker-compose 1.29 both read.
      version = "3.8";
      services =
        builtins.listToAttrs (builtins.attrValues (builtins.mapAttrs llamaServer spec.dedicated))
        // optionalAttrs spec.llamaSwap.enable {
          llama-swap =
            base
            // gpuAccess backend
            // {
              image = image.llama-swap;
              environment = spec.hardware.environment;
              command = services.llamaSwapArgs (bindOf "llamaSwap") spec.llamaSwap.port swapConfig;
              volumes = [
                (readOnly spec.modelsDir)
                (readOnly (dirOf swapConfig))
              ];
            };
        }
        // optionalAttrs spec.ollama.enable {
          ollama =
            base
            // gpuAccess backend
            // {
              image = image.ollama;
              env_file = [ "${etcDir}/ollama.env" ];
              volumes = [ "${spec.modelsDir}/ollama:${spec.modelsDir}/ollama" ];
            };
        }
        // optionalAttrs spec.webui.enable {
          open-webui = base // {
            image = image.open-webui;
            env_file = [
              "${etcDir}/open-webui.env"
            ]
            ++ optional (spec.webui.secretKeyFile != null) spec.webui.secretKeyFile;
            environment = {
              HOST = bindOf "webui";
              PORT = toString spec.webui.port;
            };
            volumes = [ "open-webui:/app/backend/data" ];
          };
        }
        // optionalAttrs (spec.gateway.enable && spec.gateway.kind == "envoy") {
          envoy = base // {
            image = image.envoy;
            command = [
              "--config-path"
              "${etcDir}/envoy.json"
            ];
            volumes = [
              (readOnly "${etcDir}/envoy.json")
            ]
            ++ optional (gatewayKeys != null) "${gatewayKeys}:${facts.gatewayApiKeys "envoy"}:ro";
          };
        }
        // optionalAttrs (spec.gateway.enable && spec.gateway.kind == "litellm") {
          litellm =
            let
              argv = litellm.litellmCommand "litellm" bindOf spec "${etcDir}/litellm.yaml" gatewayKeys;
              # The program itself, or the shell reading the key and the program.
              head = if gatewayKeys == null then 1 else 4;
              credential = facts.gatewayApiKeys "litellm";
            in
            base
            // {
              image = image.litellm;
              entrypoint = builtins.genList (builtins.elemAt argv) head;
              command = builtins.genList (i: builtins.elemAt argv (i + head)) (builtins.length argv - head);
              environment =
                litellm.litellmEnvironment
                // optionalAttrs (gatewayKeys != null) { CREDENTIALS_DIRECTORY = dirOf credential; };
              volumes = [
                (readOnly "${etcDir}/litellm.yaml")
              ]
              ++ optional (gatewayKeys != null) "${gatewayKeys}:${credential}:ro";
            };
        };
    }
    // optionalAttrs spec.webui.enable { volumes.open-webui = { }; };
in
{
  inherit composeDocument defaultImages;
}
