# The tests' tiny random-weight GGUF models, written in a derivation with gguf-py
# (no network): $out/{chat,gemma3,embedding,reranker,split,broken}/*.gguf.
{ pkgs }:
pkgs.runCommand "local-llm-tiny-models"
  {
    nativeBuildInputs = [
      (pkgs.python3.withPackages (ps: [
        ps.gguf
        ps.numpy
      ]))
    ];
  }
  ''
    python3 -c '
    import sys
    from pathlib import Path
    sys.path.insert(0, "${../testkit}")
    import tiny_models
    tiny_models.build_all(Path(sys.argv[1]))
    ' "$out"
  ''
