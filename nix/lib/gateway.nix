# The Envoy bootstrap of the OpenAI-compatible gateway, from a stack spec.
# Routing: by path, and on the OpenAI paths by the body's `model` (json_to_metadata
# fills dynamic metadata and clears the route cache; routes match on it).
let
  helpers = import ./helpers.nix;
  stack = import ./stack.nix;
  inherit (helpers) concatMap optional optionals optionalAttrs;

  metadataNamespace = "local_llm";

  # Paths each kind of backend answers, for routing by `model`.
  completionsPaths = "^/v1/(chat/)?completions$";
  embeddingsPaths = "^/v1/embeddings$";
  rerankPaths = "^/(v1/)?rerank$";
  modelPaths = {
    chat = completionsPaths;
    embedding = embeddingsPaths;
    rerank = rerankPaths;
    llamaSwap = completionsPaths;
    ollama = "^/v1/((chat/)?completions|embeddings)$";
  };

  typed = type: attrs: { "@type" = "type.googleapis.com/${type}"; } // attrs;
  socketAddress = address: port: {
    socket_address = {
      inherit address;
      port_value = port;
    };
  };

  cluster =
    gateway: name: backend:
    let
      urls = [ backend.url ] ++ backend.fallbacks;
      parsed = map helpers.parseUrl urls;
      https = builtins.filter (u: u.scheme != "http") parsed;
      dns = builtins.any (u: !helpers.isIPv4 u.host) parsed;
      # Ollama on loopback refuses any Host but localhost (and has no /health).
      isOllama = name == "ollama";
      hc = gateway.healthCheck;
    in
    if https != [ ] then
      throw "local-llm: gateway backend ${name}: only http:// backends are supported (got ${builtins.concatStringsSep ", " urls})"
    else
      {
        inherit name;
        type = if dns then "STRICT_DNS" else "STATIC";
        connect_timeout = "2s";
        lb_policy = "ROUND_ROBIN";
        load_assignment = {
          cluster_name = name;
          # One priority per URL: the first is used while healthy, then the next.
          endpoints = builtins.genList (i: {
            priority = i;
            lb_endpoints = [
              {
                endpoint.address = socketAddress (builtins.elemAt parsed i).host (builtins.elemAt parsed i).port;
              }
            ];
          }) (builtins.length parsed);
        };
        health_checks = [
          {
            inherit (hc) interval timeout;
            unhealthy_threshold = hc.unhealthyThreshold;
            healthy_threshold = hc.healthyThreshold;
            # Default 60 s: a dead, idle primary would look healthy for a minute.
            no_traffic_interval = hc.interval;
            http_health_check =
              {
                path = if isOllama then "/api/version" else "/health";
              }
              // optionalAttrs isOllama { host = "localhost"; };
          }
        ];
      };

  routeAction =
    gateway: name: backend:
    {
      cluster = name;
      # The 15 s default covers the whole response: it would cut long generations.
      timeout = "0s";
      idle_timeout = gateway.idleTimeout;
      retry_policy = {
        # Only failures before the upstream answered (no connection, refused stream, reset
        # before the headers): a response that has started is never repeated.
        retry_on = "connect-failure,refused-stream,reset";
        num_retries = 2;
        retry_host_predicate = [
          {
            name = "envoy.retry_host_predicates.previous_hosts";
            typed_config = typed "envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate" { };
          }
        ];
      }
      // optionalAttrs (backend.fallbacks != [ ]) {
        retry_priority = {
          name = "envoy.retry_priorities.previous_priorities";
          typed_config = typed "envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig" {
            update_frequency = 1;
          };
        };
      };
    }
    // optionalAttrs (name == "ollama") { host_rewrite_literal = "localhost"; };

  # Backends that requests reach by their `model`.
  namedBackends =
    backends:
    builtins.filter (name: backends.${name}.aliases != [ ] || backends.${name}.model != null) (
      builtins.attrNames backends
    );

  # or_match needs at least two matchers.
  anyOf =
    names:
    let
      matchers = map (model: { string_match.exact = model; }) names;
    in
    if builtins.length matchers == 1 then builtins.head matchers else { or_match.value_matchers = matchers; };

  modelRoute = gateway: name: backend: {
    name = "model-${name}";
    # Per-route request and latency stats (vhost.openai.route.NAME.*), for the dashboard.
    stat_prefix = "model-${name}";
    match = {
      safe_regex.regex = modelPaths.${name};
      dynamic_metadata = [
        {
          filter = metadataNamespace;
          path = [ { key = "model"; } ];
          value = anyOf (optional (backend.model != null) backend.model ++ backend.aliases);
        }
      ];
    };
    route = routeAction gateway name backend;
  };

  ollamaTagRoute = gateway: backend: {
    name = "model-ollama-tagged";
    match = {
      safe_regex.regex = modelPaths.ollama;
      dynamic_metadata = [
        {
          filter = metadataNamespace;
          path = [ { key = "model"; } ];
          value.string_match.safe_regex.regex = "^[^:]+:[^:]+$";
        }
      ];
    };
    route = routeAction gateway "ollama" backend;
  };

  pathRoute = gateway: backends: routeName: match: name: extra: {
    name = routeName;
    stat_prefix = routeName;
    inherit match;
    route = routeAction gateway name backends.${name} // extra;
  };

  routes =
    spec:
    let
      inherit (spec) gateway backends;
      has = name: backends ? ${name};
      # Embeddings and rerank by path: the dedicated server if there is one, else llama-swap.
      pick = role: if has role then [ role ] else optional (has "llamaSwap") "llamaSwap";
      # Chat models not matched by name: llama-swap serves whatever is in the models
      # folder; without it the dedicated chat server answers.
      fallbackName = if has "llamaSwap" then [ "llamaSwap" ] else optional (has "chat") "chat";
      named = namedBackends backends;
      path = routeName: match: names: extra: map (name: pathRoute gateway backends routeName match name extra) names;
    in
    [
      {
        name = "health";
        match.path = "/health";
        direct_response = {
          status = 200;
          body.inline_string = "OK";
        };
      }
    ]
    ++ map (name: modelRoute gateway name backends.${name}) named
    # Ollama's names carry a tag (`llama3.2:3b`), llama-swap's IDs never contain ':'
    # (llmctl's model IDs), so any other tagged name goes to Ollama.
    ++ optional (has "ollama") (ollamaTagRoute gateway backends.ollama)
    ++ path "completions" { safe_regex.regex = completionsPaths; } fallbackName { }
    ++ path "embeddings" { safe_regex.regex = embeddingsPaths; } (pick "embedding") { }
    ++ path "rerank" { safe_regex.regex = rerankPaths; } (pick "rerank") { }
    ++ path "ollama" { prefix = "/ollama/"; } (optional (has "ollama") "ollama") { prefix_rewrite = "/"; }
    ++ path "models" { path = "/v1/models"; } fallbackName { }
    ++ path "default" { prefix = "/v1/"; } fallbackName { };

  # A Lua filter running `script` with its @PLACEHOLDER@ replaced by `value`.
  luaFilter = script: placeholder: value: {
    name = "envoy.filters.http.lua";
    typed_config = typed "envoy.extensions.filters.http.lua.v3.Lua" {
      default_source_code.inline_string = builtins.replaceStrings [ placeholder ] [ value ] (
        builtins.readFile script
      );
    };
  };

  authFilter = luaFilter ./gateway-auth.lua "@KEY_FILE@";

  # Names the routes send somewhere by `model`, in the order they match, for /v1/models;
  # then the declared models llama-swap serves with their aliases (llama-swap lists
  # aliases only with includeAliasesInList), unless unlisted.
  declaredModels =
    spec:
    let
      inherit (spec) backends models;
      entries = owner: ids: map (id: {
        inherit id;
        owned_by = owner;
      }) ids;
      dedicatedModels = map (role: spec.dedicated.${role}.model) (builtins.attrNames spec.dedicated);
      swapped = builtins.filter (
        name:
        !builtins.elem name dedicatedModels
        && (models.${name}.serve or "swap") == "swap"
        && !(models.${name}.unlisted or false)
      ) (builtins.attrNames models);
    in
    concatMap (
      name: entries name (optional (backends.${name}.model != null) backends.${name}.model ++ backends.${name}.aliases)
    ) (namedBackends backends)
    ++ optionals (backends ? llamaSwap) (
      concatMap (name: entries "llamaSwap" ([ name ] ++ models.${name}.aliases or [ ])) swapped
    );

  modelListFilter =
    spec:
    let
      has = name: spec.backends ? ${name};
      config = builtins.toJSON {
        declared = declaredModels spec;
        # Ollama refuses Host headers other than localhost.
        live =
          optional (has "ollama") {
            cluster = "ollama";
            authority = "localhost";
            owned_by = "ollama";
          }
          ++ optional (has "llamaSwap") {
            cluster = "llamaSwap";
            authority = "llama-swap";
            owned_by = "llamaSwap";
          };
        timeoutMs = 3000;
      };
    in
    if helpers.hasInfix "]==]" config then
      throw "local-llm: a model name or alias contains ']==]', which the gateway's model list cannot carry"
    else
      luaFilter ./gateway-models.lua "@CONFIG@" config;

  httpFilters =
    spec:
    optional (spec.gateway.apiKeyFile != null) (authFilter spec.gateway.apiKeyFile)
    ++ [
      (modelListFilter spec)
      {
        name = "envoy.filters.http.json_to_metadata";
        typed_config = typed "envoy.extensions.filters.http.json_to_metadata.v3.JsonToMetadata" {
          request_rules = {
            # The default is exactly "application/json"; clients add "; charset=utf-8".
            allow_content_types_regex.regex = "^application/json(;.*)?$";
            rules = [
              {
                selectors = [ { key = "model"; } ];
                on_present = {
                  metadata_namespace = metadataNamespace;
                  key = "model";
                  type = "STRING";
                };
              }
            ];
          };
        };
      }
      {
        name = "envoy.filters.http.router";
        typed_config = typed "envoy.extensions.filters.http.router.v3.Router" { };
      }
    ];

  connectionManager =
    statPrefix: extra:
    {
      name = "envoy.filters.network.http_connection_manager";
      typed_config = typed "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager" (
        {
          stat_prefix = statPrefix;
          codec_type = "AUTO";
        }
        // extra
      );
    };

  apiListener = spec: {
    name = "gateway";
    address = socketAddress spec.gateway.bind spec.gateway.port;
    per_connection_buffer_limit_bytes = spec.gateway.bufferLimitBytes;
    filter_chains = [
      {
        filters = [
          (connectionManager "gateway" (
            {
              stream_idle_timeout = spec.gateway.idleTimeout;
              http_filters = httpFilters spec;
              route_config = {
                name = "gateway";
                virtual_hosts = [
                  {
                    name = "openai";
                    domains = [ "*" ];
                    routes = routes spec;
                  }
                ];
              };
            }
            // optionalAttrs spec.gateway.accessLog {
              access_log = [
                {
                  name = "envoy.access_loggers.stdout";
                  typed_config = typed "envoy.extensions.access_loggers.stream.v3.StdoutAccessLog" { };
                }
              ];
            }
          ))
        ];
      }
    ];
  };

  # Only Prometheus metrics, never the rest of the admin API, on its own port.
  metricsListener = spec: {
    name = "metrics";
    address = socketAddress "127.0.0.1" spec.gateway.metricsPort;
    filter_chains = [
      {
        filters = [
          (connectionManager "metrics" {
            http_filters = [
              {
                name = "envoy.filters.http.router";
                typed_config = typed "envoy.extensions.filters.http.router.v3.Router" { };
              }
            ];
            route_config.virtual_hosts = [
              {
                name = "metrics";
                domains = [ "*" ];
                routes = [
                  {
                    match.path = "/metrics";
                    route = {
                      cluster = "envoy_admin";
                      prefix_rewrite = "/stats/prometheus";
                    };
                  }
                ];
              }
            ];
          })
        ];
      }
    ];
  };

  adminCluster = spec: {
    name = "envoy_admin";
    type = "STATIC";
    connect_timeout = "1s";
    load_assignment = {
      cluster_name = "envoy_admin";
      endpoints = [ { lb_endpoints = [ { endpoint.address = socketAddress "127.0.0.1" spec.gateway.adminPort; } ]; } ];
    };
  };

  envoyConfig =
    input:
    let
      spec = stack.normalize input;
      inherit (spec) backends;
    in
    if backends == { } then
      throw "local-llm: the gateway has no backend: enable a dedicated chat/embedding/rerank server, llama-swap or Ollama"
    else
      {
        admin.address = socketAddress "127.0.0.1" spec.gateway.adminPort;
        static_resources = {
          listeners = [
            (apiListener spec)
            (metricsListener spec)
          ];
          clusters = builtins.attrValues (builtins.mapAttrs (cluster spec.gateway) backends) ++ [ (adminCluster spec) ];
        };
      };
in
{
  inherit envoyConfig;
}
