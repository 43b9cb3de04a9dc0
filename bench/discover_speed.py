"""Discovery speed: `llmctl`'s inventory scan over 1,000 GGUF files against gguf.GGUFReader.

Writes 1,000 GGUF files with varied headers (architectures, key-value counts, up
to 400 tensor infos, vocabularies from 256 tokens to a Qwen-sized 151,936
tokens plus merges) and tiny tensors, so the folder stays small on disk. Then,
side by side in this run:
- ours, cold: `inventory.scan` with no cache (every header parsed, tensor infos included);
- ours, cache: the first scan that fills the summary cache, then a warm rescan;
- the CLI end to end (`llmctl discover --output -`, a fresh interpreter), cold and warm;
- gguf.GGUFReader: too slow to run on all 1,000 files, so it is timed on a
  sample of every kind and extrapolated per kind (printed as such).

Goals: discovery under 1 s and at least 20x faster than GGUFReader.

Run: eval "$(./dev env)"; python bench/discover_speed.py [--files 1000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STRING, ARRAY, U32, F32, I32 = 8, 9, 4, 6, 5
ARCHS = ["llama", "qwen2", "qwen3", "gemma3", "mistral", "phi3", "bert", "nomic-bert"]
KINDS = {  # kind -> (share of the files, vocabulary size, with merges)
    "huge-vocab": (0.01, 151_936, True),
    "large-vocab": (0.04, 32_000, False),
    "small-vocab": (0.95, 256, False),
}


def gguf_string(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(raw)) + raw


def kv(key: str, kind: int, payload: bytes) -> bytes:
    return gguf_string(key) + struct.pack("<I", kind) + payload


def string_array(items: list[bytes]) -> bytes:
    return struct.pack("<IQ", STRING, len(items)) + b"".join(struct.pack("<Q", len(i)) + i for i in items)


def vocabulary(size: int, merges: bool) -> bytes:
    """The tokenizer key-values, built once per kind and reused (they are the bulk)."""
    rng = random.Random(size)
    tokens = [f"tok{i}-{'x' * rng.randint(0, 12)}".encode() for i in range(size)]
    data = kv("tokenizer.ggml.model", STRING, gguf_string("gpt2" if merges else "llama"))
    data += kv("tokenizer.ggml.tokens", ARRAY, string_array(tokens))
    data += kv("tokenizer.ggml.token_type", ARRAY, struct.pack("<IQ", I32, size) + bytes(4 * size))
    if merges:
        data += kv("tokenizer.ggml.merges", ARRAY, string_array([f"t{i} m{i}".encode() for i in range(size - 549)]))
    else:
        data += kv("tokenizer.ggml.scores", ARRAY, struct.pack("<IQ", F32, size) + bytes(4 * size))
    return data


def write_file(path: Path, rng: random.Random, vocab: bytes, n_vocab_kvs: int, split: tuple[int, int] | None) -> None:
    arch = rng.choice(ARCHS)
    layers = rng.randint(2, 40)
    kvs = [
        kv("general.architecture", STRING, gguf_string(arch)),
        kv("general.name", STRING, gguf_string(path.stem)),
        kv("general.file_type", U32, struct.pack("<I", rng.choice([1, 7, 15, 17, 18]))),
        kv(f"{arch}.context_length", U32, struct.pack("<I", rng.choice([2048, 8192, 32768, 131072]))),
        kv(f"{arch}.block_count", U32, struct.pack("<I", layers)),
        kv(f"{arch}.embedding_length", U32, struct.pack("<I", 32)),
    ]
    if arch in ("bert", "nomic-bert"):
        kvs.append(kv(f"{arch}.pooling_type", U32, struct.pack("<I", rng.choice([1, 2, 4]))))
    for index in range(rng.randint(0, 30)):
        kvs.append(kv(f"custom.key{index}", STRING, gguf_string("v" * rng.randint(1, 64))))
    if split:
        kvs.append(kv("split.no", 2, struct.pack("<H", split[0])))
        kvs.append(kv("split.count", 2, struct.pack("<H", split[1])))
    tensor_names = ["token_embd.weight", "output_norm.weight"]
    tensor_names += [
        f"blk.{i}.{part}.weight" for i in range(min(layers, 44)) for part in ("attn_q", "attn_k", "ffn_up")
    ]
    infos = b""
    offset = 0
    for name in tensor_names:
        infos += gguf_string(name) + struct.pack("<I", 1) + struct.pack("<Q", 8) + struct.pack("<I", 0)
        infos += struct.pack("<Q", offset)
        offset += 32  # 8 f32 = 32 bytes, already aligned
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensor_names), len(kvs) + n_vocab_kvs)
    body = head + b"".join(kvs) + vocab + infos
    body += bytes(-len(body) % 32)
    path.write_bytes(body + bytes(offset))


def build(root: Path, count: int) -> dict[str, list[Path]]:
    rng = random.Random(20261122)
    by_kind: dict[str, list[Path]] = {kind: [] for kind in KINDS}
    plan = []
    for kind, (share, _size, _merges) in KINDS.items():
        plan += [kind] * max(1, round(share * count))
    plan = plan[:count] + ["small-vocab"] * (count - len(plan))
    vocabs = {kind: (vocabulary(size, merges), 4) for kind, (_s, size, merges) in KINDS.items()}
    index = 0
    while index < count:
        kind = plan[index]
        folder = root / f"org{index % 37}" / f"repo{index % 11}"
        folder.mkdir(parents=True, exist_ok=True)
        vocab, n_vocab_kvs = vocabs[kind]
        if kind == "small-vocab" and index % 50 == 7 and index + 1 < count:  # a split set of two shards
            for shard in (1, 2):
                path = folder / f"split-model-{index}-Q4_K_M-{shard:05d}-of-00002.gguf"
                write_file(path, rng, vocab, n_vocab_kvs, (shard - 1, 2))
                by_kind[kind].append(path)
            index += 2
            continue
        path = folder / f"Model-{index}-{kind}-Q4_K_M.gguf"
        write_file(path, rng, vocab, n_vocab_kvs, None)
        by_kind[kind].append(path)
        index += 1
    return by_kind


def time_call(function, *args) -> tuple[float, object]:
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def gguf_reader_estimate(by_kind: dict[str, list[Path]]) -> tuple[float, list[str]]:
    """GGUFReader time for all files, from a timed sample of each kind."""
    from gguf import GGUFReader

    samples = {"huge-vocab": 2, "large-vocab": 3, "small-vocab": 20}
    total, lines = 0.0, []
    for kind, paths in by_kind.items():
        sample = paths[: samples[kind]]
        spent = 0.0
        for path in sample:
            seconds, _ = time_call(GGUFReader, path)
            spent += seconds
        mean = spent / len(sample)
        total += mean * len(paths)
        timed = f"{mean * 1000:9.1f} ms/file on {len(sample)} timed"
        lines.append(f"  {kind:12s} {len(paths):4d} files: {timed} -> {mean * len(paths):7.2f} s")
    return total, lines


def cli_run(root: Path, cache_dir: Path) -> float:
    env = {**os.environ, "LLMCTL_CACHE_DIR": str(cache_dir)}
    command = [sys.executable, "-m", "llmctl", "discover", "--models-dir", str(root), "--output", "-"]
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=1000, help="number of GGUF files to write")
    parser.add_argument("--keep", type=Path, help="write the files here and keep them")
    args = parser.parse_args()

    from llmctl.gguf.summary import NoCache, SummaryCache
    from llmctl.library.inventory import scan

    work = args.keep or Path(tempfile.mkdtemp(prefix="discover-bench-"))
    root = work / "models"
    try:
        seconds, by_kind = time_call(build, root, args.files)
        files = sum(len(paths) for paths in by_kind.values())
        size = sum(path.stat().st_size for paths in by_kind.values() for path in paths)
        print(f"wrote {files} GGUF files ({size / 2**20:.0f} MiB) in {seconds:.1f} s under {root}")
        for kind, paths in by_kind.items():
            merges = " + merges" if KINDS[kind][2] else ""
            print(f"  {kind:12s} {len(paths):4d} files, vocabulary {KINDS[kind][1]:,} tokens{merges}")

        scan(root, NoCache())  # page cache and imports warm, as for the reference below
        cold_times = [time_call(scan, root, NoCache())[0] for _ in range(3)]
        cold = min(cold_times)
        inventory = scan(root, NoCache())
        cache_dir = work / "cache"
        shutil.rmtree(cache_dir, ignore_errors=True)
        filling, _ = time_call(scan, root, SummaryCache(cache_dir))
        warm = min(time_call(scan, root, SummaryCache(cache_dir))[0] for _ in range(3))
        cli_cold_dir = work / "cli-cache"
        shutil.rmtree(cli_cold_dir, ignore_errors=True)
        cli_cold = cli_run(root, cli_cold_dir)
        cli_warm = min(cli_run(root, cli_cold_dir) for _ in range(3))
        reference, lines = gguf_reader_estimate(by_kind)

        print(f"\ninventory: {len(inventory.models)} models, {len(inventory.invalid)} invalid files")
        runs = ", ".join(f"{t:.3f}" for t in cold_times)
        print(f"ours, cold (no cache, every header parsed): {cold:.3f} s  (best of 3: {runs})")
        print(f"ours, first scan filling the cache:         {filling:.3f} s")
        print(f"ours, warm (cache hit for every file):      {warm:.3f} s")
        print(f"llmctl discover end to end, cold cache:     {cli_cold:.3f} s  (fresh interpreter, imports, YAML)")
        print(f"llmctl discover end to end, warm cache:     {cli_warm:.3f} s")
        print("gguf.GGUFReader, EXTRAPOLATED from a timed sample per kind:")
        print("\n".join(lines))
        print(f"  total (estimate): {reference:.1f} s")
        print(
            f"\nratio GGUFReader / ours cold: {reference / cold:.0f}x; GGUFReader / ours warm: {reference / warm:.0f}x"
        )

        def verdict(ok: bool) -> str:
            return "met" if ok else "NOT met"

        print(
            f"goal < 1 s: cold scan {verdict(cold < 1)} ({cold:.3f} s); warm scan {verdict(warm < 1)} ({warm:.3f} s)"
        )
        print(f"goal >= 20x: {verdict(reference / cold >= 20)} cold ({reference / cold:.0f}x)")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
