# llmctl, built from python/llmctl. Its test suite needs the real llama-server and
# Envoy and runs from `./dev test`; here the build checks that it imports and starts.
{
  lib,
  python3Packages,
}:

python3Packages.buildPythonApplication {
  pname = "llmctl";
  version = "0.1.0";
  pyproject = true;

  src = lib.fileset.toSource {
    root = ../../../python/llmctl;
    fileset = lib.fileset.unions [
      ../../../python/llmctl/pyproject.toml
      ../../../python/llmctl/README.md
      ../../../python/llmctl/src
    ];
  };

  # src/llmctl/nixlib links to the repository's nix/lib, outside this source: ship a copy.
  postPatch = ''
    rm src/llmctl/nixlib
    cp -r ${../../lib} src/llmctl/nixlib
    chmod -R u+w src/llmctl/nixlib
  '';

  build-system = [ python3Packages.setuptools ];

  dependencies = with python3Packages; [
    click
    gguf
    jinja2
    jsonschema
    # llmctl verify runs its host checks with pytest-testinfra
    pytest
    pytest-testinfra
    pyyaml
    requests
    rich
  ];

  pythonImportsCheck = [ "llmctl" ];

  doInstallCheck = true;
  installCheckPhase = ''
    runHook preInstallCheck
    $out/bin/llmctl --version
    $out/bin/llmctl --help > /dev/null
    runHook postInstallCheck
  '';

  meta = {
    description = "Run-time control for a local-llm host: models, downloads, status, planning, verification";
    license = lib.licenses.mit;
    mainProgram = "llmctl";
    platforms = lib.platforms.linux;
  };
}
