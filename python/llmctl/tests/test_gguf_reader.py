"""The GGUF header reader against gguf-py's own reader, and on broken input."""

from __future__ import annotations

import contextlib
import struct

import gguf
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmctl.errors import GGUFError
from llmctl.gguf.reader import ArrayInfo, read_gguf

KINDS = ["chat", "gemma3", "embedding", "reranker"]


def reference(path):
    reader = gguf.GGUFReader(path)
    fields = {}
    for name, field in reader.fields.items():
        if name.startswith("GGUF."):
            continue
        fields[name] = field.contents()
    return reader, fields


@pytest.mark.parametrize("kind", KINDS)
def test_metadata_and_tensors_match_gguf_reader(tiny_models, kind):
    path = getattr(tiny_models, kind)
    header = read_gguf(path, tensors=True)
    reader, fields = reference(path)
    assert set(header.metadata) == set(fields)
    for key, value in header.metadata.items():
        if isinstance(value, ArrayInfo):
            assert value.count == len(fields[key])
        elif isinstance(value, float):
            assert value == pytest.approx(fields[key])
        else:
            assert value == fields[key], key
    assert [t.name for t in header.tensors] == [t.name for t in reader.tensors]
    for ours, theirs in zip(header.tensors, reader.tensors, strict=True):
        assert ours.dims == tuple(int(d) for d in theirs.shape)
        assert ours.type_id == int(theirs.tensor_type)
        assert ours.n_elements == int(theirs.n_elements)
        assert ours.n_bytes == int(theirs.n_bytes)
        assert header.data_offset + ours.offset == int(theirs.data_offset)
    assert header.parameter_count == sum(int(t.n_elements) for t in reader.tensors)


def test_large_string_arrays_are_skipped_not_materialised(tiny_models):
    header = read_gguf(tiny_models.chat)
    tokens = header.metadata["tokenizer.ggml.tokens"]
    assert tokens == ArrayInfo("string", tiny_models.chat_shape.n_vocab)
    assert header.tensors is None and header.architecture == "llama"
    assert header.arch_get("context_length") == tiny_models.chat_shape.n_ctx_train


def test_split_shards_carry_split_keys(tiny_models):
    first, second = (read_gguf(p, tensors=True) for p in tiny_models.split)
    assert (first.get("split.no"), first.get("split.count")) == (0, 2)
    assert (second.get("split.no"), second.get("split.count")) == (1, 2)
    assert first.get("split.tensors.count") == len(first.tensors) + len(second.tensors)


def minimal_header(kvs: bytes, n_kv: int, n_tensors: int = 0, version: int = 3) -> bytes:
    return b"GGUF" + struct.pack("<IQQ", version, n_tensors, n_kv) + kvs


def kv_string(key: str) -> bytes:
    return struct.pack("<Q", len(key)) + key.encode()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"GGXF" + bytes(20), "not a GGUF file"),
        (b"GGUF" + struct.pack("<I", 1) + bytes(16), "unsupported GGUF version 1"),
        (b"GGUF\x03\x00", "truncated"),
        (minimal_header(b"", 10**12), "key-value count 1000000000000 cannot fit"),
        (minimal_header(kv_string("a") + struct.pack("<IIQ", 9, 4, 2**60), 1), "claims 1152921504606846976 items"),
        (minimal_header(kv_string("a") + struct.pack("<IIQ", 9, 8, 2**60), 1), "claims 1152921504606846976 strings"),
        (minimal_header(kv_string("a") + struct.pack("<IQ", 8, 2**40), 1), "claims 1099511627776 bytes"),
        (minimal_header(kv_string("a") + struct.pack("<I", 99) + bytes(8), 1), "unknown value type 99"),
    ],
)
def test_malformed_headers_give_a_reason(tmp_path, data, reason):
    path = tmp_path / "bad.gguf"
    path.write_bytes(data)
    with pytest.raises(GGUFError, match=reason) as caught:
        read_gguf(path, tensors=True)
    assert str(path) in str(caught.value)


def test_truncated_file_names_the_missing_bytes(tiny_models):
    with pytest.raises(GGUFError, match=r"truncated: tensor data needs \d+ bytes but the file has"):
        read_gguf(tiny_models.truncated, tensors=True)


def test_truncated_inside_the_vocabulary(tiny_models, tmp_path):
    data = tiny_models.chat.read_bytes()
    path = tmp_path / "cut.gguf"
    path.write_bytes(data[:2000])
    with pytest.raises(GGUFError, match="truncated"):
        read_gguf(path)


def test_directory_and_missing_file(tmp_path):
    (tmp_path / "x.gguf").mkdir()
    with pytest.raises(GGUFError, match="is a directory"):
        read_gguf(tmp_path / "x.gguf")
    with pytest.raises(GGUFError, match="cannot be read"):
        read_gguf(tmp_path / "absent.gguf")


def test_big_endian_file_is_read(tmp_path):
    path = tmp_path / "be.gguf"
    writer = gguf.GGUFWriter(path, "llama", endianess=gguf.GGUFEndian.BIG)
    writer.add_context_length(1234)
    writer.add_tensor("t.weight", np.zeros((4, 32), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    header = read_gguf(path, tensors=True)
    assert header.byte_order == "big"
    assert header.arch_get("context_length") == 1234
    assert header.tensors[0].dims == (32, 4)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(data=st.data())
def test_random_and_mutated_headers_raise_only_gguf_error(tiny_models, tmp_path, data):
    original = tiny_models.embedding.read_bytes()[:16384]
    if data.draw(st.booleans()):
        blob = data.draw(st.binary(max_size=512))
        if data.draw(st.booleans()):
            blob = b"GGUF" + struct.pack("<I", 3) + blob
    else:
        blob = bytearray(original)
        for _ in range(data.draw(st.integers(1, 8))):
            blob[data.draw(st.integers(0, len(blob) - 1))] = data.draw(st.integers(0, 255))
        blob = bytes(blob[: data.draw(st.integers(0, len(blob)))])
    path = tmp_path / "fuzz.gguf"
    path.write_bytes(blob)
    # Any other exception type fails the test.
    with contextlib.suppress(GGUFError):
        read_gguf(path, tensors=True)


@pytest.mark.parametrize("kind", KINDS)
def test_skipping_every_array_keeps_scalars_and_tensors(tiny_models, kind):
    path = getattr(tiny_models, kind)
    full = read_gguf(path, tensors=True)
    lean = read_gguf(path, tensors=True, inline_arrays=False)
    for key, value in full.metadata.items():
        if isinstance(value, list):
            item_type = full.metadata_types[key].removeprefix("array[").removesuffix("]")
            assert lean.metadata[key] == (ArrayInfo(item_type, len(value)) if value else []), key
        else:
            assert lean.metadata[key] == value, key
    assert lean.tensors == full.tensors and lean.data_offset == full.data_offset
