"""Deterministic random streams and identifiers.

Every stream is derived from (seed, labels...) through numpy's SeedSequence, so a piece of the data
(one account, one block of days) never depends on the order in which other pieces were made.
"""

from __future__ import annotations

import zlib

import numpy as np

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_BASE62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
_UUID_GROUPS = ((0, 0, 8), (9, 8, 12), (14, 12, 16), (19, 16, 20), (24, 20, 32))  # (out, from, to)


def _word(label: int | str) -> int:
    if isinstance(label, str):
        return zlib.crc32(label.encode("utf-8"))
    return int(label) & 0xFFFFFFFF


def rng_for(seed: int, *labels: int | str) -> np.random.Generator:
    """A random stream for one named piece of the data set."""
    words = [seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF, *(_word(label) for label in labels)]
    return np.random.default_rng(np.random.SeedSequence(words))


def _decode(buffer: np.ndarray, width: int) -> np.ndarray:
    text = buffer.tobytes().decode("ascii")
    return np.array([text[i : i + width] for i in range(0, len(text), width)], dtype=object)


def uuids(rng: np.random.Generator, n: int) -> np.ndarray:
    """n random version-4 UUID strings (object array)."""
    if n == 0:
        return np.empty(0, dtype=object)
    raw = np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    chars = np.empty((n, 32), dtype=np.uint8)
    chars[:, 0::2] = raw >> 4
    chars[:, 1::2] = raw & 0x0F
    chars += 48 + (chars > 9) * np.uint8(39)  # 0-9 -> '0'-'9', 10-15 -> 'a'-'f' (arithmetic, no lookup)
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    for at, start, stop in _UUID_GROUPS:
        out[:, at : at + stop - start] = chars[:, start:stop]
    return _decode(out, 36)


def hex_ids(rng: np.random.Generator, n: int, prefix: str, length: int) -> list[str]:
    digits = _HEX[rng.integers(0, 16, size=(n, length))]
    return [prefix + s for s in _decode(digits, length)] if n else []


def stripe_ids(rng: np.random.Generator, n: int, prefix: str, length: int = 24) -> list[str]:
    """Stripe-looking ids: prefix + base62 characters, e.g. sub_1Q2w3E4r5T6y7U8i9O0p."""
    digits = _BASE62[rng.integers(0, 62, size=(n, length))]
    return [prefix + s for s in _decode(digits, length)] if n else []


def unique_stripe_ids(rng: np.random.Generator, n: int, prefix: str, taken: set[str]) -> list[str]:
    """Like stripe_ids, never repeating an id already in `taken` (which is updated)."""
    out: list[str] = []
    while len(out) < n:
        for candidate in stripe_ids(rng, n - len(out), prefix):
            if candidate not in taken:
                taken.add(candidate)
                out.append(candidate)
    return out
