"""`llmctl exporter`: the stack's services and models as Prometheus metrics."""

from __future__ import annotations

import click

from llmctl.app import run_context
from llmctl.datafiles import read_json
from llmctl.options import stack_option, sweep_timeout_option

DEFAULT_LISTEN = f"127.0.0.1:{read_json('defaults.json')['ports']['exporter']}"
DEFAULT_TIMEOUT_S = 5.0


@click.command()
@stack_option
@click.option(
    "--listen",
    "listen",
    metavar="HOST:PORT",
    default=DEFAULT_LISTEN,
    show_default=True,
    help="Address to serve /metrics on.",
)
@sweep_timeout_option(
    DEFAULT_TIMEOUT_S, "Seconds one scrape's status sweep may take (keep it below Prometheus' scrape_timeout)."
)
def exporter(listen: str, timeout: float) -> None:
    """Serve the stack's status as Prometheus metrics until stopped.

    Every scrape of /metrics runs one `llmctl status` sweep and answers what no service
    exports itself: which models each service has loaded (0 for those it lists but has
    not loaded, so Prometheus counts loads), their slots and sizes, and the llamacpp:*
    counters of the llama-servers llama-swap runs, labelled with their model. The
    stack spec is read again when its file changes.

    \b
    Examples:
      llmctl exporter
      llmctl --stack ./stack.json exporter --listen 127.0.0.1:9903
      curl -s 127.0.0.1:9903/metrics | grep local_llm_model_loaded
    """
    import signal
    import sys

    from llmctl.errors import ExporterError, UsageError
    from llmctl.output import info
    from llmctl.stack import load_stack
    from llmctl.status.exporter import SpecSource, make_server

    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--listen {listen!r} is not HOST:PORT", hint="e.g. --listen 127.0.0.1:9903")
    context = run_context()
    specs = SpecSource(lambda: load_stack(context.stack_path), context.stack_path or _default_path())
    specs.get()  # a missing or invalid spec is an error now, not at the first scrape
    try:
        server = make_server(host.strip("[]"), int(port), specs, timeout)
    except OSError as error:
        raise ExporterError(f"cannot listen on {listen}: {error.strerror or error}") from error
    # systemd stops units with SIGTERM: end like Ctrl-C, quietly.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    info(f"serving http://{listen}/metrics (a status sweep per scrape, timeout {timeout:g} s)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _default_path() -> str:
    from llmctl.stack import resolve_stack_path

    return str(resolve_stack_path(None)[0])
