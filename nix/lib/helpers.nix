# Small builtins-only helpers (this library must evaluate without nixpkgs).
rec {
  # Recursive merge: attrsets merge key by key, any other value on the right wins.
  recursiveUpdate =
    left: right:
    left
    // builtins.mapAttrs (
      name: value:
      if builtins.isAttrs value && builtins.isAttrs (left.${name} or null) then
        recursiveUpdate left.${name} value
      else
        value
    ) right;

  # Drop attributes whose value is null (JSON consumers treat absent as default).
  dropNulls = attrs: removeAttrs attrs (builtins.filter (name: attrs.${name} == null) (builtins.attrNames attrs));

  optional = condition: value: if condition then [ value ] else [ ];
  optionals = condition: values: if condition then values else [ ];
  optionalAttrs = condition: attrs: if condition then attrs else { };
  optionalString = condition: string: if condition then string else "";

  concatMap = f: list: builtins.concatLists (map f list);
  unique = builtins.foldl' (acc: x: if builtins.elem x acc then acc else acc ++ [ x ]) [ ];

  # Split "http://host:port" into its parts; only plain http upstreams are supported.
  parseUrl =
    url:
    let
      m = builtins.match "(https?)://([^:/]+)(:([0-9]+))?(/.*)?" url;
    in
    if m == null then
      throw "local-llm: '${url}' is not an http://HOST:PORT URL"
    else
      {
        scheme = builtins.elemAt m 0;
        host = builtins.elemAt m 1;
        port =
          if builtins.elemAt m 3 != null then
            builtins.fromJSON (builtins.elemAt m 3)
          else if builtins.elemAt m 0 == "https" then
            443
          else
            80;
      };

  # Whether `infix` occurs in `text`.
  hasInfix = infix: text: builtins.replaceStrings [ infix ] [ "" ] text != text;

  isIPv4 = host: builtins.match "[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+" host != null;

  # Values in a stable JSON-friendly string form (Nix's toString turns true into "1").
  showValue =
    value:
    if builtins.isBool value then
      (if value then "true" else "false")
    else if builtins.isList value then
      builtins.concatStringsSep "," (map showValue value)
    else
      toString value;
}
