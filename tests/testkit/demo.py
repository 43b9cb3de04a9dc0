"""`./dev demo`: the local gateway in front of real llama-servers, built from nix/lib.

Writes tiny random-weight models, evaluates nix/lib for a local stack spec, starts
the dedicated chat, embedding and reranker llama-servers and Envoy on loopback,
prints the OpenAI base URL, lists the gateway's models with the official openai
client, sends one request of each kind through the gateway by an alias, shows the
answers, then serves until Ctrl-C (or exits with --once).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from testkit import openai_client as api
from testkit.local_stack import local_stack
from testkit.processes import ProcessStartError
from testkit.tools import ToolMissing

CHAT_ALIAS = "gpt-4o"
EMBEDDING_ALIAS = "text-embedding-3-small"
RERANK_ALIAS = "rerank-english-v3.0"
DOCUMENTS = ["Envoy routes by the body's model field.", "Paris is the capital of France.", "GGUF holds weights."]


def say(text: str = "") -> None:
    print(text, flush=True)


def show(title: str, reply: api.Reply, summary) -> bool:
    if reply.status != 200:
        say(f"  {title}: HTTP {reply.status} {reply.body[:200]!r}")
        return False
    say(f"  {title}: {summary(reply.json())}")
    return True


def list_models(base_url: str) -> dict[str, list[str]]:
    """The gateway's model list as the official openai client reads it, by backend."""
    from openai import OpenAI

    by_backend: dict[str, list[str]] = {}
    for model in OpenAI(base_url=base_url, api_key="unused").models.list():
        by_backend.setdefault(model.owned_by, []).append(model.id)
    return by_backend


def exercise(base_url: str) -> bool:
    """The model list, then one chat completion, one embedding and one rerank through the gateway."""
    say(f"\nGET {base_url}/models  (the official openai client)")
    for backend, ids in list_models(base_url).items():
        say(f"  {backend}: {', '.join(ids)}")
    say(f"\nPOST {base_url}/chat/completions  model={CHAT_ALIAS}")
    ok = show(
        "answer",
        api.chat(base_url, CHAT_ALIAS, "Say hello.", max_tokens=12),
        lambda body: (
            f"{body['choices'][0]['message']['content']!r} ({body['usage']['completion_tokens']} tokens;"
            " random weights, so the words are noise)"
        ),
    )
    say(f"\nPOST {base_url}/embeddings  model={EMBEDDING_ALIAS}")
    ok &= show(
        "vector",
        api.embed(base_url, EMBEDDING_ALIAS, "local models behind one gateway"),
        lambda body: (
            f"{len(body['data'][0]['embedding'])} dimensions, starts "
            + json.dumps([round(x, 4) for x in body["data"][0]["embedding"][:4]])
        ),
    )
    say(f"\nPOST {base_url}/rerank  model={RERANK_ALIAS}")
    ok &= show(
        "ranking",
        api.rerank(base_url, RERANK_ALIAS, "How does the gateway route?", DOCUMENTS),
        lambda body: ", ".join(
            f"#{r['index']} {r['relevance_score']:.4f}"
            for r in sorted(body["results"], key=lambda r: -r["relevance_score"])
        ),
    )
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev demo", description=__doc__.splitlines()[0])
    parser.add_argument("--once", action="store_true", help="exit after the three requests")
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    say("Starting tiny chat, embedding and reranker llama-servers and the Envoy gateway (nix/lib) ...")
    with local_stack() as stack:
        say(f"\nOpenAI base URL: {stack.base_url}")
        say(f"  backends: {', '.join(f'{name} {url}' for name, url in stack.endpoints.items())}")
        say(f"  Envoy admin {stack.admin_url}, metrics http://127.0.0.1:{stack.metrics_port}/metrics")
        say(f"  stack spec for llmctl: {stack.stack_file}")
        ok = exercise(stack.base_url)
        if not ok:
            say("\nA request failed; logs are in " + str(stack.work_dir))
            return 1
        if args.once:
            return 0
        say(f"\nServing. Try: curl {stack.base_url}/chat/completions -H 'Content-Type: application/json' \\")
        say("""  -d '{"model":"gpt-4","messages":[{"role":"user","content":"hi"}],"max_tokens":8}'""")
        say("Ctrl-C stops everything.")
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        say("\nStopping.")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # during start-up: everything started is already stopped
        sys.exit(130)
    except ToolMissing as error:  # one clear line, no traceback
        print(f"demo: {error}", file=sys.stderr)
        sys.exit(1)
    except ProcessStartError as error:  # what did not start, with its log tail
        print(f"demo: {error}", file=sys.stderr)
        sys.exit(1)
