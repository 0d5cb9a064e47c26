"""Mutated image files for the fuzz run (``tools/fuzz_images.py``): seeds and mutations.

Seeds are real photos (scikit-image's public-domain samples) encoded as JPEG, PNG, TIFF and
WebP in several variants (grey, alpha, 16-bit, float, progressive, compressed, EXIF-rotated).
Each mutant applies one to three mutations to a seed: a truncation, bit flips, byte runs, or a
format-aware header edit (PNG IHDR fields and chunk lengths; JPEG SOF dimensions and segment
lengths; TIFF IFD entries, counts and offsets; WebP RIFF/chunk sizes and VP8/VP8L/VP8X
dimensions). Everything follows from one seed number.
"""
from __future__ import annotations

import io
import random
import struct
import zlib

import cv2
import numpy as np
from PIL import Image

#: values that tend to break size arithmetic
INTERESTING = (0, 1, 2, 7, 8, 255, 256, 4095, 16383, 30000, 32767, 32768, 65535, 65536, 2 ** 24,
               2 ** 30, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1)
FORMATS = ("jpeg", "png", "tiff", "webp")
SUFFIX = {"jpeg": ".jpg", "png": ".png", "tiff": ".tif", "webp": ".webp"}


def seed_photos() -> list[np.ndarray]:
    """Small RGB photos: the astronaut (a face, so detection and landmarks run), a coffee cup."""
    from skimage import data

    astronaut = cv2.resize(data.astronaut(), (256, 256), interpolation=cv2.INTER_AREA)
    face = np.ascontiguousarray(data.astronaut()[30:250, 110:330])
    coffee = cv2.resize(data.coffee(), (150, 100), interpolation=cv2.INTER_AREA)
    return [astronaut, face, coffee]


def _pil_bytes(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _cv2_bytes(array: np.ndarray, suffix: str, params: list[int] | None = None) -> bytes:
    ok, encoded = cv2.imencode(suffix, array, params or [])
    assert ok, suffix
    return encoded.tobytes()


def encode_seeds(photos: list[np.ndarray]) -> dict[str, list[tuple[str, bytes]]]:
    """Per format, (variant name, file bytes) for every photo."""
    seeds: dict[str, list[tuple[str, bytes]]] = {f: [] for f in FORMATS}
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees
    for k, rgb in enumerate(photos):
        pil, bgr = Image.fromarray(rgb), np.ascontiguousarray(rgb[..., ::-1])
        grey = pil.convert("L")
        rgba = pil.convert("RGBA")
        seeds["jpeg"] += [(f"{k}-baseline", _pil_bytes(pil, "JPEG", quality=90)),
                          (f"{k}-progressive", _pil_bytes(pil, "JPEG", quality=80, progressive=True)),
                          (f"{k}-grey", _pil_bytes(grey, "JPEG", quality=85)),
                          (f"{k}-exif6", _pil_bytes(pil, "JPEG", quality=85, exif=exif.tobytes()))]
        seeds["png"] += [(f"{k}-rgb", _pil_bytes(pil, "PNG")), (f"{k}-grey", _pil_bytes(grey, "PNG")),
                         (f"{k}-rgba", _pil_bytes(rgba, "PNG")),
                         (f"{k}-palette", _pil_bytes(pil.convert("P"), "PNG")),
                         (f"{k}-rgb16", _cv2_bytes(bgr.astype(np.uint16) * 257, ".png"))]
        seeds["tiff"] += [(f"{k}-raw", _pil_bytes(pil, "TIFF")),
                          (f"{k}-lzw", _pil_bytes(pil, "TIFF", compression="tiff_lzw")),
                          (f"{k}-deflate-grey", _pil_bytes(grey, "TIFF", compression="tiff_adobe_deflate")),
                          (f"{k}-rgb16", _cv2_bytes(bgr.astype(np.uint16) * 257, ".tif")),
                          (f"{k}-float32", _cv2_bytes(bgr.astype(np.float32) / 255, ".tif"))]
        seeds["webp"] += [(f"{k}-lossy", _pil_bytes(pil, "WEBP", quality=80)),
                          (f"{k}-lossless", _pil_bytes(pil, "WEBP", lossless=True)),
                          (f"{k}-alpha", _pil_bytes(rgba, "WEBP", quality=80))]
    return seeds


# --- generic mutations -----------------------------------------------------------------------

def truncate(data: bytearray, rng: random.Random) -> str:
    cut = rng.choice([rng.randrange(1, min(len(data), 300)), rng.randrange(1, len(data))])
    del data[cut:]
    return f"truncate@{cut}"


def bit_flips(data: bytearray, rng: random.Random) -> str:
    n = rng.choice([1, 2, 4, 8, 32])
    region = min(len(data), 512) if rng.random() < 0.5 else len(data)
    for _ in range(n):
        i = rng.randrange(region)
        data[i] ^= 1 << rng.randrange(8)
    return f"bitflip{n}/{region}"


def byte_run(data: bytearray, rng: random.Random) -> str:
    i, n = rng.randrange(len(data)), rng.choice([1, 2, 4, 16, 256])
    value = rng.choice([0x00, 0xFF, 0x7F, 0x80, rng.randrange(256)])
    data[i:i + n] = bytes([value]) * len(data[i:i + n])
    return f"bytes{n}={value:#x}@{i}"


def splice(data: bytearray, rng: random.Random) -> str:
    i, j = sorted(rng.randrange(len(data)) for _ in range(2))
    if rng.random() < 0.5:
        data[j:j] = data[i:j][:4096]
        return f"duplicate{i}:{j}"
    del data[i:j]
    return f"delete{i}:{j}"


# --- format-aware header edits -----------------------------------------------------------------

def _value(rng: random.Random, bits: int) -> int:
    return rng.choice([v for v in INTERESTING if v < 2 ** bits] + [rng.randrange(2 ** bits)])


def _png_chunks(data: bytes) -> list[tuple[int, bytes, int]]:
    """(offset, type, length) of each chunk that fits in the data."""
    chunks, pos = [], 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunks.append((pos, kind, length))
        pos += 12 + length
    return chunks


def png_header(data: bytearray, rng: random.Random) -> str:
    chunks = _png_chunks(bytes(data))
    fix_crc = rng.random() < 0.8
    what = rng.choice(["width", "height", "fields", "length", "length"])
    if what in ("width", "height", "fields") and chunks and chunks[0][1] == b"IHDR":
        pos = chunks[0][0]
        if what == "fields":
            field = rng.randrange(8, 13)  # bit depth, colour type, compression, filter, interlace
            data[pos + 8 + field] = rng.choice([0, 1, 2, 3, 4, 6, 8, 16, 255, rng.randrange(256)])
            note = f"ihdr[{field}]={data[pos + 8 + field]}"
        else:
            value = _value(rng, 32)
            struct.pack_into(">I", data, pos + 8 + (0 if what == "width" else 4), value)
            note = f"ihdr.{what}={value}"
        if fix_crc:
            struct.pack_into(">I", data, pos + 21, zlib.crc32(bytes(data[pos + 4:pos + 21])) & 0xFFFFFFFF)
        return note + ("" if fix_crc else " (bad crc)")
    pos, kind, length = rng.choice(chunks) if chunks else (8, b"????", 0)
    value = rng.choice([_value(rng, 32), max(0, length - 1), length + 1]) & 0xFFFFFFFF
    struct.pack_into(">I", data, pos, value)
    return f"png.{kind.decode('latin-1')}.length={value}"


def _jpeg_segments(data: bytes) -> list[tuple[int, int]]:
    """(offset of the marker, marker byte) of each segment with a length, up to the scan."""
    segments, pos = [], 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        segments.append((pos, marker))
        if marker == 0xDA:
            break
        pos += 2 + struct.unpack(">H", data[pos + 2:pos + 4])[0]
    return segments


def jpeg_header(data: bytearray, rng: random.Random) -> str:
    segments = _jpeg_segments(bytes(data))
    frames = [p for p, m in segments if m in (0xC0, 0xC1, 0xC2)]
    if frames and rng.random() < 0.6:
        pos = frames[0]
        field = rng.choice(["height", "width", "components", "sampling"])
        if field in ("height", "width"):
            value = _value(rng, 16)
            struct.pack_into(">H", data, pos + (5 if field == "height" else 7), value)
        elif field == "components":
            value = data[pos + 9] = rng.choice([0, 1, 2, 4, 255])
        else:
            value = data[pos + 11] = rng.choice([0x00, 0x11, 0x22, 0x44, 0xFF, rng.randrange(256)])
        return f"jpeg.sof.{field}={value}"
    pos, marker = rng.choice(segments) if segments else (2, 0)
    value = rng.choice([0, 1, 2, 3, 65535, rng.randrange(65536)])
    struct.pack_into(">H", data, pos + 2, value)
    return f"jpeg.{marker:02X}.length={value}"


TIFF_TAGS = (256, 257, 258, 259, 262, 273, 277, 278, 279, 284, 317, 339)  # sizes, layout, strips


def tiff_header(data: bytearray, rng: random.Random) -> str:
    order = "<" if data[:2] == b"II" else ">"
    if len(data) < 8:
        return "tiff.short"
    ifd = struct.unpack(order + "I", data[4:8])[0]
    if rng.random() < 0.15 or ifd + 2 > len(data):
        value = _value(rng, 32)
        struct.pack_into(order + "I", data, 4, value)
        return f"tiff.ifd_offset={value}"
    count = struct.unpack(order + "H", data[ifd:ifd + 2])[0]
    entries = [ifd + 2 + 12 * k for k in range(count) if ifd + 14 + 12 * k <= len(data)]
    if rng.random() < 0.1 or not entries:
        value = _value(rng, 16)
        struct.pack_into(order + "H", data, ifd, value)
        return f"tiff.entries={value}"
    tagged = [e for e in entries if struct.unpack(order + "H", data[e:e + 2])[0] in TIFF_TAGS]
    entry = rng.choice(tagged or entries)
    tag, kind = struct.unpack(order + "HH", data[entry:entry + 4])
    what = rng.choice(["value", "value", "value", "count", "type"])
    if what == "value":
        value = _value(rng, 16 if kind == 3 else 32)
        struct.pack_into(order + ("H" if kind == 3 else "I"), data, entry + 8, value)
    elif what == "count":
        value = _value(rng, 32)
        struct.pack_into(order + "I", data, entry + 4, value)
    else:
        value = rng.choice([0, 1, 2, 3, 4, 5, 7, 12, 16, 255])
        struct.pack_into(order + "H", data, entry + 2, value)
    return f"tiff.tag{tag}.{what}={value}"


def webp_header(data: bytearray, rng: random.Random) -> str:
    chunks, pos = [], 12
    while pos + 8 <= len(data):
        kind, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        chunks.append((pos, bytes(kind), size))
        pos += 8 + size + (size & 1)
    what = rng.choice(["riff", "chunk", "dims", "dims", "dims"])
    if what == "riff" or not chunks:
        value = _value(rng, 32)
        struct.pack_into("<I", data, 4, value)
        return f"webp.riff_size={value}"
    pos, kind, size = rng.choice(chunks)
    body = pos + 8
    if what == "chunk":
        value = rng.choice([_value(rng, 32), max(0, size - 1), size + 1]) & 0xFFFFFFFF
        struct.pack_into("<I", data, pos + 4, value)
        return f"webp.{kind.decode('latin-1')}.size={value}"
    if kind == b"VP8X" and body + 10 <= len(data):
        value = _value(rng, 24)
        at = body + rng.choice([4, 7])
        data[at:at + 3] = value.to_bytes(3, "little")
        return f"webp.vp8x.canvas@{at - body}={value}"
    if kind == b"VP8L" and body + 5 <= len(data):
        bits = int.from_bytes(data[body + 1:body + 5], "little")
        shift = rng.choice([0, 14])
        value = _value(rng, 14)
        bits = (bits & ~(0x3FFF << shift)) | (value << shift)
        data[body + 1:body + 5] = bits.to_bytes(4, "little")
        return f"webp.vp8l.{'width' if shift == 0 else 'height'}-1={value}"
    if kind == b"VP8 " and body + 10 <= len(data):
        at = body + rng.choice([6, 8])
        value = _value(rng, 16)
        struct.pack_into("<H", data, at, value)
        return f"webp.vp8.{'width' if at == body + 6 else 'height'}={value:#x}"
    return bit_flips(data, rng)


HEADER_EDITS = {"png": png_header, "jpeg": jpeg_header, "tiff": tiff_header, "webp": webp_header}


def mutate(seed: bytes, fmt: str, rng: random.Random) -> tuple[bytes, list[str]]:
    """One mutant of ``seed`` (1-3 mutations, at least one) and the names of its mutations."""
    data, notes = bytearray(seed), []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        if len(data) < 16:
            break
        kind = rng.choices(["header", "bitflip", "truncate", "bytes", "splice"], [45, 25, 15, 10, 5])[0]
        edit = {"header": HEADER_EDITS[fmt], "bitflip": bit_flips, "truncate": truncate,
                "bytes": byte_run, "splice": splice}[kind]
        try:
            notes.append(edit(data, rng))
        except (struct.error, IndexError, ValueError):  # a field past the end of a truncated file
            notes.append(bit_flips(data, rng))
    if fmt == "png" and rng.random() < 0.5:  # valid CRCs: the damage reaches the decompressor
        fix_png_crcs(data)
        notes.append("crcs fixed")
    return bytes(data), notes


def fix_png_crcs(data: bytearray) -> None:
    """Recompute the CRC of every PNG chunk that lies wholly in ``data``."""
    for pos, _, length in _png_chunks(bytes(data)):
        end = pos + 8 + length
        if end + 4 <= len(data):
            struct.pack_into(">I", data, end, zlib.crc32(bytes(data[pos + 4:end])) & 0xFFFFFFFF)


def make_mutants(count: int, seed: int = 0):
    """``count`` mutants, round-robin over the formats: yields (name, suffix, bytes, description)."""
    rng = random.Random(seed)
    seeds = encode_seeds(seed_photos())
    for k in range(count):
        fmt = FORMATS[k % len(FORMATS)]
        variant, original = rng.choice(seeds[fmt])
        data, notes = mutate(original, fmt, rng)
        yield f"m{k:05d}", SUFFIX[fmt], data, f"{fmt}:{variant}: " + ", ".join(notes)
