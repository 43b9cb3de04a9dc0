"""A fast, bounded GGUF header reader.

Reads the header, the key-values and (when asked) the tensor infos of a GGUF
file without touching tensor data. Large arrays (a 150k-token vocabulary, its
scores and merges) are skipped, not parsed item by item into Python objects:
numeric arrays by their byte length, string arrays by walking their length
prefixes. Every length read from the file is checked against what the file can
still hold before anything is allocated, so a corrupt count (2^60 items) is an
error, not a memory blow-up.

The bytes come from a `ByteSource` (gguf.source): a local file, or anything that can read a
byte range (the capacity planner reads Hub files over HTTP Range requests).
Every problem is reported as `GGUFError` (llmctl.errors) with the offset and what was
expected.

Format: magic "GGUF", u32 version (2 or 3; 1 used 32-bit lengths and is not
supported), u64 tensor count, u64 key-value count, key-values, tensor infos,
padding to `general.alignment`, tensor data.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from typing import Any

from llmctl.errors import GGUFError
from llmctl.gguf.source import ByteSource, Cursor, FileSource

MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32
MAX_KEY_LENGTH = 65535
MAX_DIMS = 4  # GGML_MAX_DIMS
# Arrays up to this many items are returned as lists (per-layer head counts,
# sliding-window patterns, labels); longer ones only as `ArrayInfo`.
MAX_INLINE_NUMERIC_ITEMS = 1024
MAX_INLINE_STRING_ITEMS = 256

# GGUF value types -> (struct code, item size)
_SCALARS = {
    0: ("B", 1),  # u8
    1: ("b", 1),  # i8
    2: ("H", 2),  # u16
    3: ("h", 2),  # i16
    4: ("I", 4),  # u32
    5: ("i", 4),  # i32
    6: ("f", 4),  # f32
    7: ("?", 1),  # bool
    10: ("Q", 8),  # u64
    11: ("q", 8),  # i64
    12: ("d", 8),  # f64
}
TYPE_STRING = 8
TYPE_ARRAY = 9
TYPE_NAMES = {
    0: "u8",
    1: "i8",
    2: "u16",
    3: "i16",
    4: "u32",
    5: "i32",
    6: "f32",
    7: "bool",
    8: "string",
    9: "array",
    10: "u64",
    11: "i64",
    12: "f64",
}


@dataclass(frozen=True)
class ArrayInfo:
    """An array that was skipped rather than materialised."""

    item_type: str
    count: int

    def __len__(self) -> int:
        return self.count

    def to_json(self) -> dict[str, Any]:
        return {"array": self.item_type, "count": self.count}


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dims: tuple[int, ...]  # ggml order: ne0 (row length) first
    type_id: int
    offset: int  # relative to the start of the data section
    n_elements: int
    n_bytes: int


@dataclass
class GGUFHeader:
    path: str
    version: int
    byte_order: str  # "little" or "big"
    tensor_count: int
    metadata: dict[str, Any]
    metadata_types: dict[str, str]
    tensors: list[TensorInfo] | None
    data_offset: int | None  # where tensor data starts (known when tensors were read)
    file_size: int
    bytes_read: int = 0
    notes: list[str] = field(default_factory=list)

    def get(self, key: str, default: Any = None) -> Any:
        return self.metadata.get(key, default)

    @property
    def architecture(self) -> str | None:
        value = self.metadata.get("general.architecture")
        return value if isinstance(value, str) else None

    def arch_get(self, suffix: str, default: Any = None) -> Any:
        """`{architecture}.{suffix}`, e.g. `arch_get("context_length")`."""
        arch = self.architecture
        return self.metadata.get(f"{arch}.{suffix}", default) if arch else default

    @property
    def parameter_count(self) -> int | None:
        if self.tensors is None:
            return None
        return sum(tensor.n_elements for tensor in self.tensors)


def ggml_type_name(type_id: int) -> str:
    from gguf import GGMLQuantizationType

    try:
        return GGMLQuantizationType(type_id).name
    except ValueError:
        return f"type{type_id}"


def _quant_sizes() -> dict[int, tuple[int, int]]:
    from gguf import GGML_QUANT_SIZES

    return {int(kind): sizes for kind, sizes in GGML_QUANT_SIZES.items()}


def read_gguf(path: str | os.PathLike[str], *, tensors: bool = False, inline_arrays: bool = True) -> GGUFHeader:
    """Read a local GGUF file's header (and tensor infos when `tensors`).

    With `inline_arrays=False` every array is skipped (an `ArrayInfo`), also short
    ones: discovery needs no vocabulary and saves decoding it."""
    with FileSource(path) as source:
        return read_gguf_source(source, tensors=tensors, inline_arrays=inline_arrays)


def read_gguf_source(source: ByteSource, *, tensors: bool = False, inline_arrays: bool = True) -> GGUFHeader:
    cursor = Cursor(source)
    if inline_arrays:
        cursor.max_inline_numeric, cursor.max_inline_strings = MAX_INLINE_NUMERIC_ITEMS, MAX_INLINE_STRING_ITEMS
    name = cursor.name
    if cursor.file_size == 0:
        raise GGUFError(name, "empty file", 0)
    cursor.ensure(min(8, cursor.file_size), "the magic and version")
    if cursor.buffer[:4] != MAGIC:
        raise GGUFError(name, f"not a GGUF file: magic is {cursor.buffer[:4]!r}, expected {MAGIC!r}", 0)
    cursor.pos = 4
    version = cursor.u32("the format version")
    if version not in SUPPORTED_VERSIONS:
        swapped = int.from_bytes(version.to_bytes(4, "little"), "big")
        if swapped in SUPPORTED_VERSIONS:
            cursor.order, version = ">", swapped
        else:
            raise GGUFError(name, f"unsupported GGUF version {version} (supported: 2, 3)", 4)
    tensor_count = cursor.u64("the tensor count")
    kv_count = cursor.u64("the key-value count")
    # Each key-value needs at least 13 bytes (key length, one key byte, type).
    if kv_count * 13 > cursor.remaining():
        raise GGUFError(name, f"key-value count {kv_count} cannot fit in the rest of the file", 16)
    if tensor_count * 33 > cursor.remaining():
        raise GGUFError(name, f"tensor count {tensor_count} cannot fit in the rest of the file", 8)

    metadata: dict[str, Any] = {}
    types: dict[str, str] = {}
    for index in range(kv_count):
        key_offset = cursor.pos
        key = cursor.string(f"key {index}", limit=MAX_KEY_LENGTH)
        value_type = cursor.u32(f"the type of '{key}'")
        value, type_name = _read_value(cursor, value_type, key)
        if key in metadata:
            raise GGUFError(name, f"duplicate key '{key}'", key_offset)
        metadata[key] = value
        types[key] = type_name

    header = GGUFHeader(
        path=name,
        version=version,
        byte_order="big" if cursor.order == ">" else "little",
        tensor_count=tensor_count,
        metadata=metadata,
        metadata_types=types,
        tensors=None,
        data_offset=None,
        file_size=cursor.file_size,
    )
    if tensors:
        header.tensors = _read_tensor_infos(cursor, tensor_count)
        alignment = metadata.get("general.alignment", DEFAULT_ALIGNMENT)
        if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
            raise GGUFError(name, f"general.alignment must be a power of two, not {alignment!r}")
        header.data_offset = -(-cursor.pos // alignment) * alignment
        _check_data_fits(header)
    header.bytes_read = cursor.bytes_read
    return header


def _read_value(cursor: Cursor, value_type: int, key: str) -> tuple[Any, str]:
    if value_type in _SCALARS:
        code, size = _SCALARS[value_type]
        return cursor.unpack(code, size, f"the value of '{key}'"), TYPE_NAMES[value_type]
    if value_type == TYPE_STRING:
        return cursor.string(f"the value of '{key}'"), "string"
    if value_type == TYPE_ARRAY:
        return _read_array(cursor, key)
    raise GGUFError(cursor.name, f"unknown value type {value_type} for '{key}'", cursor.pos - 4)


def _read_array(cursor: Cursor, key: str) -> tuple[Any, str]:
    start = cursor.pos
    item_type = cursor.u32(f"the item type of '{key}'")
    count = cursor.u64(f"the length of '{key}'")
    if item_type in _SCALARS:
        code, size = _SCALARS[item_type]
        total = count * size
        if total > cursor.remaining():
            raise GGUFError(
                cursor.name,
                f"array '{key}' claims {count} items of {TYPE_NAMES[item_type]} "
                f"({total} bytes) but only {cursor.remaining()} bytes remain",
                start,
            )
        type_name = f"array[{TYPE_NAMES[item_type]}]"
        if count > cursor.max_inline_numeric:
            cursor.pos += total  # skipped: the bytes need not even be read
            return ArrayInfo(TYPE_NAMES[item_type], count), type_name
        cursor.ensure(cursor.pos + total, f"the items of '{key}'")
        values = list(struct.unpack_from(f"{cursor.order}{count}{code}", cursor.buffer, cursor.pos))
        cursor.pos += total
        return values, type_name
    if item_type == TYPE_STRING:
        if count * 8 > cursor.remaining():
            raise GGUFError(
                cursor.name,
                f"array '{key}' claims {count} strings but only {cursor.remaining()} bytes remain",
                start,
            )
        if count > cursor.max_inline_strings:
            cursor.skip_strings(count, f"array '{key}'")
            return ArrayInfo("string", count), "array[string]"
        return [cursor.string(f"item {i} of '{key}'") for i in range(count)], "array[string]"
    if item_type == TYPE_ARRAY:
        raise GGUFError(cursor.name, f"array '{key}' holds arrays, which llama.cpp does not support", start)
    raise GGUFError(cursor.name, f"array '{key}' has unknown item type {item_type}", start)


def _read_tensor_infos(cursor: Cursor, count: int) -> list[TensorInfo]:
    sizes = _quant_sizes()
    u64 = struct.Struct(cursor.order + "Q")
    u32 = struct.Struct(cursor.order + "I")
    infos: list[TensorInfo] = []
    for index in range(count):
        fields = _tensor_fields_fast(cursor, u64, u32) or _tensor_fields_careful(cursor, index)
        name, dims, type_id, offset, start = fields
        if type_id not in sizes:
            raise GGUFError(cursor.name, f"tensor '{name}' has unknown ggml type {type_id}", start)
        block, block_bytes = sizes[type_id]
        n_elements = 1
        for dim in dims:
            n_elements *= dim
        if dims[0] % block:
            raise GGUFError(
                cursor.name,
                f"tensor '{name}': row length {dims[0]} is not a multiple of the {ggml_type_name(type_id)} "
                f"block size {block}",
                start,
            )
        infos.append(TensorInfo(name, dims, type_id, offset, n_elements, n_elements // block * block_bytes))
    return infos


def _tensor_fields_fast(cursor: Cursor, u64: struct.Struct, u32: struct.Struct):
    """One tensor info parsed straight from the buffer, or None when it is not all
    buffered or looks wrong; the careful reader then extends the buffer or says why."""
    buffer, start = cursor.buffer, cursor.pos
    try:
        (length,) = u64.unpack_from(buffer, start)
        end = start + 8 + length
        if length > MAX_KEY_LENGTH or end + 4 > len(buffer):
            return None
        (n_dims,) = u32.unpack_from(buffer, end)
        tail = end + 4 + 8 * n_dims
        if not 1 <= n_dims <= MAX_DIMS or tail + 12 > len(buffer):
            return None
        dims = struct.unpack_from(f"{cursor.order}{n_dims}Q", buffer, end + 4)
        (type_id,) = u32.unpack_from(buffer, tail)
        (offset,) = u64.unpack_from(buffer, tail + 4)
        name = buffer[start + 8 : end].decode("utf-8")
    except (struct.error, UnicodeDecodeError):
        return None
    cursor.pos = tail + 12
    return name, dims, type_id, offset, start


def _tensor_fields_careful(cursor: Cursor, index: int):
    start = cursor.pos
    name = cursor.string(f"the name of tensor {index}", limit=MAX_KEY_LENGTH)
    n_dims = cursor.u32(f"the dimension count of '{name}'")
    if not 1 <= n_dims <= MAX_DIMS:
        raise GGUFError(cursor.name, f"tensor '{name}' has {n_dims} dimensions (1 to {MAX_DIMS} allowed)", start)
    dims = tuple(cursor.u64(f"dimension {d} of '{name}'") for d in range(n_dims))
    type_id = cursor.u32(f"the type of '{name}'")
    offset = cursor.u64(f"the data offset of '{name}'")
    return name, dims, type_id, offset, start


def _check_data_fits(header: GGUFHeader) -> None:
    """Tensor data must lie inside the file: catches files cut short after the header."""
    if not header.tensors:
        return
    end = max(tensor.offset + tensor.n_bytes for tensor in header.tensors)
    needed = header.data_offset + end
    if needed > header.file_size:
        raise GGUFError(
            header.path,
            f"truncated: tensor data needs {needed} bytes but the file has {header.file_size}",
            header.file_size,
        )
