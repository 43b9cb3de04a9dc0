"""Latency the Envoy gateway adds: p50 and p99 of /v1/embeddings and a 1-token chat
completion, direct to the llama-server and through Envoy, in the same run.

The local stack (tests/testkit/local_stack.py: tiny models, nix/lib configs) is
started once; for each endpoint and concurrency, blocks of requests alternate
between direct and gateway so both see the same machine load.

    ./dev setup && eval "$(./dev env)"
    python bench/gateway_latency.py [--requests 1000] [--concurrency 1 16]

Goal: p50 added under 1 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from testkit.local_stack import local_stack

# Requests per alternating block, per unit of concurrency: short blocks so direct and
# gateway see the same load on a shared machine, long enough to keep every worker busy.
BLOCK_PER_WORKER = 4

REQUESTS = {
    "embeddings": ("embedding", "/v1/embeddings", {"model": "text-embedding-3-small", "input": "hello gateway"}),
    "chat 1 token": (
        "chat",
        "/v1/chat/completions",
        {"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1},
    ),
}


def timed_requests(base_url: str, path: str, body: bytes, count: int, concurrency: int) -> list[float]:
    """Send `count` POSTs over `concurrency` keep-alive connections; seconds per request."""
    parts = urlsplit(base_url)
    latencies: list[float] = []
    lock = threading.Lock()
    remaining = [count]
    headers = {"Content-Type": "application/json"}

    def worker() -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        connection.connect()
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        mine = []
        while True:
            with lock:
                if remaining[0] == 0:
                    break
                remaining[0] -= 1
            start = time.perf_counter()
            connection.request("POST", path, body, headers)
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - start)
            if response.status != 200:
                raise RuntimeError(f"{base_url}{path}: HTTP {response.status}")
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if len(latencies) != count:
        raise RuntimeError(f"{base_url}{path}: {count - len(latencies)} requests failed")
    return latencies


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if q < 100 else max(values)


def measure(stack, name: str, total: int, concurrency: int) -> dict:
    role, path, payload = REQUESTS[name]
    body = json.dumps(payload).encode()
    targets = {"direct": stack.endpoints[role], "gateway": stack.gateway_url}
    for url in targets.values():  # warm up connections and caches
        timed_requests(url, path, body, 2 * concurrency, concurrency)
    samples: dict[str, list[float]] = {"direct": [], "gateway": []}
    order = ["direct", "gateway"]
    while len(samples["gateway"]) < total:
        block = min(BLOCK_PER_WORKER * concurrency + 4, total - len(samples["gateway"]))
        for target in order:
            samples[target] += timed_requests(targets[target], path, body, block, concurrency)
        order.reverse()
    return {
        target: {"p50": percentile(values, 50) * 1000, "p99": percentile(values, 99) * 1000}
        for target, values in samples.items()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests per endpoint, concurrency and target")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16], help="concurrency levels")
    args = parser.parse_args()
    rows = []
    with local_stack() as stack:
        for name in REQUESTS:
            for concurrency in args.concurrency:
                result = measure(stack, name, args.requests, concurrency)
                rows.append((name, concurrency, result))
                print(f"measured {name} at concurrency {concurrency}", file=sys.stderr, flush=True)
    print(f"\nGateway latency, {args.requests} requests per row and target (ms)")
    header = f"{'request':<14}{'conc':>5}{'direct p50':>12}{'gateway p50':>13}{'added p50':>11}"
    header += f"{'direct p99':>12}{'gateway p99':>13}{'added p99':>11}"
    print(header)
    for name, concurrency, r in rows:
        d, g = r["direct"], r["gateway"]
        print(
            f"{name:<14}{concurrency:>5}{d['p50']:>12.3f}{g['p50']:>13.3f}{g['p50'] - d['p50']:>11.3f}"
            f"{d['p99']:>12.3f}{g['p99']:>13.3f}{g['p99'] - d['p99']:>11.3f}"
        )
    worst = max(r["gateway"]["p50"] - r["direct"]["p50"] for _, _, r in rows)
    print(f"\nGoal p50 added < 1 ms: {'met' if worst < 1.0 else 'NOT met'} (worst {worst:.3f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
