# Text formats of the files rendered off NixOS: systemd unit files (systemd.syntax(7)),
# environment files (KEY=value, read by systemd's EnvironmentFile= and docker compose's
# env_file alike) and command lines for ExecStart=.
let
  helpers = import ./helpers.nix;

  escapeValue = builtins.replaceStrings [ "\\" "\"" ] [ "\\\\" "\\\"" ];

  # One ExecStart= word: `%` and `$` are systemd's specifiers and variables; quoted when
  # it holds a space or a quote.
  execArg =
    arg:
    let
      plain = builtins.replaceStrings [ "%" "$" ] [ "%%" "$$" ] arg;
    in
    if builtins.match "[A-Za-z0-9_./:=,+@-]+" plain != null then plain else "\"${escapeValue plain}\"";

  render =
    value:
    if builtins.isBool value then
      (if value then "true" else "false")
    else
      toString value;

  # A list value is one line per element (systemd accumulates them); `[ "" ]` is one
  # empty assignment, which resets the setting (CapabilityBoundingSet= means none).
  section =
    name: settings:
    let
      set = helpers.dropNulls settings;
      lines =
        key:
        let
          value = set.${key};
        in
        if key == "Environment" && builtins.isAttrs value then
          map (var: "Environment=\"${escapeValue "${var}=${value.${var}}"}\"") (builtins.attrNames value)
        else
          map (item: "${key}=${render item}") (if builtins.isList value then value else [ value ]);
    in
    "[${name}]\n" + builtins.concatStringsSep "" (map (line: line + "\n") (helpers.concatMap lines (builtins.attrNames set)));
in
{
  inherit execArg;

  execLine = argv: builtins.concatStringsSep " " (map execArg argv);

  # sections: [ { name = "Unit"; settings = { ... }; } ... ], written in this order.
  unitFile =
    header: sections: "# ${header}\n" + builtins.concatStringsSep "\n" (map (s: section s.name s.settings) sections);

  # KEY=value lines, unquoted: both readers take the value literally up to the line's end.
  envFile =
    header: vars:
    "# ${header}\n"
    + builtins.concatStringsSep "" (
      map (
        name:
        let
          value = toString vars.${name};
        in
        if builtins.match ".*[\n\r].*" value != null then
          throw "local-llm: environment variable ${name} holds a line break"
        else
          "${name}=${value}\n"
      ) (builtins.attrNames vars)
    );
}
