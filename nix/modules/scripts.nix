# Shell fragments the units' scripts share. Imported as a plain function set.
{ lib }:
{
  # A find printing the GGUF files under `folder` that pass `tests`, skipping hidden
  # entries below it (partial downloads, markers) but not a hidden folder above it: the
  # models folder may be /srv/.models.
  ggufFiles =
    folder: tests:
    "find ${lib.escapeShellArg folder} -mindepth 1 -name '.*' -prune -o -name '*.gguf' ${tests} -print";

  # Tell the path unit on the models folder that a sub-folder changed: it watches the
  # folder itself, so a marker is renamed into it (llmctl's CHANGE_MARKER, core/atomic.py).
  announceChange = folder: ''
    printf '%s\n' "$(date +%s)" > ${lib.escapeShellArg "${folder}/.llmctl-changed.new"}
    mv -f ${lib.escapeShellArg "${folder}/.llmctl-changed.new"} ${lib.escapeShellArg "${folder}/.llmctl-changed"}
  '';
}
