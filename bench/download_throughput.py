"""`llmctl download` against curl, aria2c -x8 and `hf download` on the same file and emulator.

A file (1 GiB by default) is served over loopback by the Hub emulator
(tests/testkit/hub_emulator.py: the resolve URL redirects to its CDN origin, which
serves with sendfile). Every client downloads it in turn, round after round, in two
settings: each connection capped at 50 MiB/s by a token bucket (as Hub and CDN edges
throttle connections), and uncapped. Each result's sha256 is checked (outside the
timed run). Figures, measured side by side in one run:

1. throughput of each client (whole command, start-up included; best and median of the
   rounds), its peak RSS, and the ratios of llmctl to each other client: `llmctl` is
   the default (2 connections, up to 8 when the CPU has room), `llmctl -cN` a fixed
   --connections N (-c8 is like for like with aria2c -x8);
   goals, for the default: capped >= 0.95x aria2c -x8 and >= 6x curl; uncapped >= 0.8x curl;
2. resume: `llmctl --connections 8` is killed with SIGKILL while every connection is
   held at 50% of the file; the next run must fetch again at most the chunks that were
   in flight (bytes fetched twice <= bytes the unfinished requests had received);
3. peak RSS of one `llmctl --connections 16` download of a 4 GiB file; goal < 200 MB.

The clients: `curl -L` (one stream), `aria2c -x 8 -s 8` (Debian's aria2), `hf download`
(huggingface_hub from requirements/bench.txt, Xet off: the emulator sends no Xet
headers), `llmctl download` (sha256 verified, fsynced, renamed into place).
`./dev bench-setup` installs aria2 and the hf venv; then:

    ./dev bench download_throughput [--size-mib 1024] [--rounds 3] [--connections 8,16]

Disk use: the source file and one download at a time (plus the 4 GiB pair for the RSS
figure); removed at the end. The machine's load average is printed before and after.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from testkit.hub_emulator import HubEmulator, overlap

REPO = "bench-org/Big-GGUF"
FILE = "Big-Model-Q4_K_M.gguf"
MiB = 1 << 20
REFERENCES = ("curl", "aria2c -x8", "hf download")


def write_source(path: Path, size: int) -> None:
    """Random content (a random 64 MiB block repeated; incompressible enough for loopback)."""
    block = os.urandom(64 * MiB)
    with open(path, "wb") as handle:
        written = 0
        while written < size:
            piece = block[: size - written]
            handle.write(piece)
            written += len(piece)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(8 * MiB):
            digest.update(block)
    return digest.hexdigest()


def run(argv: list[str], env: dict) -> tuple[float, int]:
    """Wall time of the whole command and its peak RSS in bytes (GNU time's %M: this
    process's own pages would count in a child it starts itself)."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        start = time.perf_counter()
        done = subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", rss.name, *argv],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            sys.exit(f"{shlex.join(argv)} failed ({done.returncode}):\n{done.stderr.decode(errors='replace')[-2000:]}")
        return elapsed, int(rss.read().split()[-1]) * 1024


class Clients:
    """The command line of each client and where its result lands."""

    def __init__(self, root: Path, url: str, hf_cli: str, llmctl_args: list[str], connections: list[int]):
        self.root, self.url, self.hf_cli, self.llmctl_args = root, url, hf_cli, llmctl_args
        self.names = [*REFERENCES, "llmctl", *(f"llmctl -c{n}" for n in connections)]

    def argv(self, name: str) -> tuple[list[str], Path]:
        out = self.root / "out"
        if name == "curl":
            return ["curl", "-sS", "-L", "-o", str(out / FILE), self.url], out / FILE
        if name == "aria2c -x8":
            return [
                "aria2c", "-x", "8", "-s", "8", "-d", str(out), "-o", FILE, "--file-allocation=falloc",
                "--allow-overwrite=true", "--auto-file-renaming=false", "--summary-interval=0", "-q", self.url,
            ], out / FILE  # fmt: skip
        if name == "hf download":
            return [self.hf_cli, "download", REPO, FILE, "--local-dir", str(out)], out / FILE
        fixed = name.removeprefix("llmctl").removeprefix(" -c")
        return self.llmctl(out, int(fixed) if fixed else None), out / REPO / FILE

    def llmctl(self, models: Path, connections: int | None = None) -> list[str]:
        extra = ["--connections", str(connections)] if connections else []
        return [
            sys.executable, "-m", "llmctl", "download", REPO, "Q4_K_M", "--models-dir", str(models), "--json",
            *extra, *self.llmctl_args,
        ]  # fmt: skip


def throughput(hub: HubEmulator, clients: Clients, env: dict, size: int, sha: str, rounds: int) -> dict:
    """{(setting, client): [(seconds, rss), ...]} over the rounds, clients interleaved."""
    results: dict[tuple[str, str], list[tuple[float, int]]] = {}
    for setting, rate in (("capped 50 MiB/s per connection", 50 * MiB), ("uncapped", None)):
        hub.rate_per_connection = rate
        for _ in range(rounds):
            for name in clients.names:
                argv, result = clients.argv(name)
                shutil.rmtree(clients.root / "out", ignore_errors=True)
                (clients.root / "out").mkdir()
                seconds, rss = run(argv, env)
                got = sha256_of(result)
                if got != sha:
                    sys.exit(f"{name}: sha256 {got} is not the file's {sha}")
                results.setdefault((setting, name), []).append((seconds, rss))
    hub.rate_per_connection = None
    shutil.rmtree(clients.root / "out", ignore_errors=True)
    return results


def print_throughput(results: dict, size: int, rounds: int) -> None:
    print(f"\nfile: {size / MiB:.0f} MiB over loopback (hub -> 302 -> cdn), {rounds} rounds, every sha256 checked")
    header = ("best s", "median s", "MiB/s best", "MiB/s med", "RSS MB")
    print(f"{'setting':32} {'client':12} " + " ".join(f"{h:>10}" for h in header))
    for (setting, name), runs in results.items():
        times = [t for t, _ in runs]
        best, median = min(times), statistics.median(times)
        rss = max(r for _, r in runs) / 1e6
        figures = (
            f"{best:.2f}",
            f"{median:.2f}",
            f"{size / best / MiB:.1f}",
            f"{size / median / MiB:.1f}",
            f"{rss:.0f}",
        )
        print(f"{setting:32} {name:12} " + " ".join(f"{f:>10}" for f in figures))
    for setting in dict.fromkeys(s for s, _ in results):
        for ours in (name for s, name in results if s == setting and name.startswith("llmctl")):
            best = ", ".join(f"{ours}/{ref} {_ratio(results, setting, ours, ref, min):.2f}x" for ref in REFERENCES)
            medians = ", ".join(f"{_ratio(results, setting, ours, ref, statistics.median):.2f}x" for ref in REFERENCES)
            print(f"{setting}: {best} (best against best; medians: {medians})")
    print("goals (llmctl, the default): capped >= 0.95x aria2c -x8 and >= 6x curl; uncapped >= 0.8x curl")


def resume(hub: HubEmulator, clients: Clients, env: dict, size: int, sha: str) -> None:
    models = clients.root / "resume"
    hub.hold_at[FILE] = size // 2
    hub.stalled.clear()
    mark = len(hub.log)
    # 8 fixed connections: the default would keep 2 here (loopback keeps the CPU busy),
    # and more chunks in flight are the harder case.
    argv = clients.llmctl(models, 8)
    killed = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    hub.stalled.wait(120)
    # Everything before the hold point arrives, then the byte count stops moving.
    last, still = -1, 0
    while still < 10:
        sent = sum(e["bytes_sent"] for e in hub.log[mark:] if e["file"] == FILE)
        still = still + 1 if sent == last else 0
        last = sent
        time.sleep(0.1)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    first = [e for e in hub.settled().log[mark:] if e["file"] == FILE and e["method"] == "GET"]
    in_flight = [e for e in first if e["status"] in (200, 206) and e["bytes_sent"] < _length(e, size)]
    held_bytes = sum(e["bytes_sent"] for e in first)
    in_flight_bytes = sum(e["bytes_sent"] for e in in_flight)
    first_spans = hub.sent_spans(FILE, mark)
    del hub.hold_at[FILE]
    mark = len(hub.log)
    run(argv, env)
    if sha256_of(models / REPO / FILE) != sha:
        sys.exit("the resumed download does not have the file's sha256")
    second = hub.settled().sent_spans(FILE, mark)
    again = overlap(first_spans, second)
    fetched = sum(b - a for a, b in second)
    print(
        f"\nresume after SIGKILL with {held_bytes / size:.1%} of the file received, "
        f"{len(in_flight)} requests in flight holding {in_flight_bytes} bytes:\n"
        f"  the next run fetched {fetched} bytes ({fetched / size:.1%} of the file), {again} of them "
        f"received before the kill (goal <= {in_flight_bytes}, the chunks in flight); sha256 verified"
    )
    shutil.rmtree(models)


def _ratio(results: dict, setting: str, ours: str, reference: str, statistic) -> float:
    """Throughput of `ours` over `reference` (time of the reference over ours)."""
    return statistic(t for t, _ in results[(setting, reference)]) / statistic(t for t, _ in results[(setting, ours)])


def _length(entry: dict, size: int) -> int:
    if entry["range"] and entry["status"] == 206:
        first, _, last = entry["range"][6:].partition("-")
        return (int(last) + 1 if last else size) - int(first)
    return size


def peak_rss(root: Path, size_mib: int, env: dict, llmctl_args: list[str]) -> None:
    source = root / "big.gguf"
    write_source(source, size_mib * MiB)
    hub = HubEmulator(redirect="cdn")
    hub.add_repo(REPO, {FILE: source})
    hub.start()
    try:
        clients = Clients(root, hub.file_url(REPO, FILE), "", llmctl_args, [])
        # 16 connections, the most buffers a download of the default or the bench rows holds.
        seconds, rss = run(clients.llmctl(root / "rss", 16), {**env, "HF_ENDPOINT": hub.endpoint})
        print(
            f"\npeak RSS of llmctl downloading {size_mib} MiB: {rss / 1e6:.0f} MB "
            f"({size_mib / seconds:.0f} MiB/s, uncapped; goal < 200 MB)"
        )
    finally:
        hub.stop()
        shutil.rmtree(root / "rss", ignore_errors=True)
        source.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="size of the test file (>= 1024 for the goals)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each client in each setting")
    parser.add_argument(
        "--connections", default="2,8,16", help="more llmctl rows: a fixed --connections each, comma-separated"
    )
    parser.add_argument("--llmctl-args", default="", help="more arguments of llmctl download")
    parser.add_argument("--rss-size-mib", type=int, default=4096, help="file size for the peak RSS figure (0: skip)")
    parser.add_argument("--no-resume", action="store_true", help="skip the SIGKILL resume figure")
    args = parser.parse_args()
    size = args.size_mib * MiB
    hf_cli = os.environ.get("HF_CLI") or shutil.which("hf")
    missing = [tool for tool in ("curl", "aria2c", "/usr/bin/time") if shutil.which(tool) is None]
    if missing or not hf_cli:
        sys.exit(f"missing {', '.join(missing + ['hf'] * (not hf_cli))}: run ./dev bench-setup (apt, a venv for hf)")
    llmctl_args = shlex.split(args.llmctl_args)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")

    with tempfile.TemporaryDirectory(prefix="bench-download-", dir=os.environ.get("BENCH_TMP")) as tmp:
        root = Path(tmp)
        source = root / "source.gguf"
        write_source(source, size)
        hub = HubEmulator(redirect="cdn")
        sha = hub.add_repo(REPO, {FILE: source}).files[FILE].sha256
        hub.start()
        env = {
            **{k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")},
            "HF_ENDPOINT": hub.endpoint,
            "HF_HOME": str(root / "hf-home"),
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_DISABLE_UPDATE_CHECK": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        }
        connections = [int(n) for n in args.connections.split(",") if n]
        clients = Clients(root, hub.file_url(REPO, FILE), hf_cli, llmctl_args, connections)
        try:
            results = throughput(hub, clients, env, size, sha, args.rounds)
            print_throughput(results, size, args.rounds)
            if not args.no_resume:
                resume(hub, clients, env, size, sha)
        finally:
            hub.stop()
            source.unlink()
        if args.rss_size_mib:
            peak_rss(root, args.rss_size_mib, env, llmctl_args)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
