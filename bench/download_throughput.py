"""`llmctl download` against curl on the same URL, and the cost of a resume.

A 1 GiB file is written into a temporary folder and served over loopback by the Hub
emulator (tests/testkit/hub_emulator.py; the resolve URL redirects to its CDN origin).
Figures, measured side by side in one run:

1. throughput of `llmctl download` (whole command: API calls, transfer, sha256,
   fsync, rename) against `curl -L -o FILE` on the same URL; goal >= 0.9x curl;
   (also against curl followed by sha256sum and sync, the same guarantees by hand);
2. bytes transferred by a second `llmctl download` after the first was killed with
   SIGKILL at 50% of the file; goal <= 51% of the file.

Disk use stays under 3 GiB (source, one download at a time) and is removed at the end.

    eval "$(./dev env)"; python bench/download_throughput.py [--size-mib 1024] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from testkit.hub_emulator import HubEmulator

REPO = "bench-org/Big-GGUF"
FILE = "Big-Model-Q4_K_M.gguf"
MiB = 1 << 20


def write_source(path: Path, size: int) -> None:
    """Random content (a random 64 MiB block repeated; incompressible enough for loopback)."""
    block = os.urandom(64 * MiB)
    with open(path, "wb") as handle:
        written = 0
        while written < size:
            piece = block[: size - written]
            handle.write(piece)
            written += len(piece)


def timed(argv: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def llmctl_argv(models: Path) -> list[str]:
    return [sys.executable, "-m", "llmctl", "download", REPO, "Q4_K_M", "--models-dir", str(models), "--json"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="size of the test file")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each client (best is kept)")
    args = parser.parse_args()
    size = args.size_mib * MiB
    curl = shutil.which("curl")
    if curl is None:
        sys.exit("curl is needed for the comparison")

    with tempfile.TemporaryDirectory(prefix="bench-download-") as tmp:
        root = Path(tmp)
        source = root / "source.gguf"
        write_source(source, size)
        hub = HubEmulator(redirect="cdn")
        hub.add_repo(REPO, {FILE: source})
        hub.start()
        env = {**os.environ, "HF_ENDPOINT": hub.endpoint}
        env.pop("HF_TOKEN", None)
        url = hub.file_url(REPO, FILE)
        models = root / "models"
        installed = models / REPO / FILE
        try:
            curl_times, llmctl_times, checked_times = [], [], []
            out = root / "curl.out"
            # The same guarantees with standard tools: download, then sha256, then fsync.
            checked = f'"{curl}" -sS -L -o "{out}" "{url}" && sha256sum "{out}" && sync "{out}"'
            for _ in range(args.rounds):
                curl_times.append(timed([curl, "-sS", "-L", "-o", str(out), url], env))
                assert out.stat().st_size == size
                out.unlink()
                checked_times.append(timed(["sh", "-c", checked], env))
                out.unlink()
                llmctl_times.append(timed(llmctl_argv(models), env))
                assert installed.stat().st_size == size
                installed.unlink()
            curl_rate = size / min(curl_times) / MiB
            llmctl_rate = size / min(llmctl_times) / MiB
            print(f"file: {size / MiB:.0f} MiB over loopback (hub -> 302 -> cdn), best of {args.rounds}")
            print(f"curl:   {min(curl_times):6.2f} s  {curl_rate:8.1f} MiB/s")
            print(f"llmctl: {min(llmctl_times):6.2f} s  {llmctl_rate:8.1f} MiB/s  (sha256 verified, fsynced)")
            checked_rate = size / min(checked_times) / MiB
            print(f"curl + sha256sum + sync: {min(checked_times):6.2f} s  {checked_rate:8.1f} MiB/s")
            print(f"throughput ratio llmctl/curl: {llmctl_rate / curl_rate:.3f} (goal >= 0.9)")
            print(f"throughput ratio llmctl/(curl + sha256sum + sync): {llmctl_rate / checked_rate:.3f}")

            half = size // 2
            hub.stall_after[FILE] = half
            hub.stalled.clear()
            killed = subprocess.Popen(
                llmctl_argv(models), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            part = models / ".partial" / REPO.replace("/", "--") / (FILE + ".part")
            hub.stalled.wait(120)
            deadline = time.monotonic() + 120
            while not (part.is_file() and part.stat().st_size >= half) and time.monotonic() < deadline:
                time.sleep(0.05)
            killed.send_signal(signal.SIGKILL)
            killed.wait()
            held = part.stat().st_size
            mark = len(hub.log)
            timed(llmctl_argv(models), env)
            assert installed.stat().st_size == size
            resent = sum(e["bytes_sent"] for e in hub.settled().log[mark:] if e["file"] == FILE)
            print(f"resume after SIGKILL at {held / size:.1%}: {resent} bytes transferred again")
            print(f"resume ratio (bytes transferred / file size): {resent / size:.4f} (goal <= 0.51)")
        finally:
            hub.stop()


if __name__ == "__main__":
    main()
