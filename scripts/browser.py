"""Headless Chromium screenshots, and a PNG reader in the standard library, to look at them.

Used by ``make docs-images`` and by the browser tests of the HTML report. Chromium comes from
Debian's ``chromium`` package (``make integration-deps`` installs it).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FLAGS", "Image", "chromium", "dump_dom", "read_png", "screenshot"]

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-color-profile=srgb",
)


def chromium() -> str | None:
    """The Chromium binary: ``$AUMAI_CHROMIUM``, else ``chromium`` on the PATH."""
    return os.environ.get("AUMAI_CHROMIUM") or shutil.which("chromium")


def screenshot(page: Path | str, png: Path, *, width: int = 1280, height: int = 2000) -> None:
    """Render ``page`` (a local HTML file, or a URL) headless to ``png``, with a throwaway
    profile."""
    binary = chromium()
    if binary is None:
        raise RuntimeError("chromium not found: install Debian's 'chromium' package")
    with tempfile.TemporaryDirectory(prefix="aumai-chromium-") as profile:
        proc = subprocess.run(
            [
                binary,
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--screenshot={png}",
                f"--window-size={width},{height}",
                page.resolve().as_uri() if isinstance(page, Path) else page,
            ],
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
    if proc.returncode != 0 or not png.is_file():
        raise RuntimeError(f"chromium failed ({proc.returncode}): {proc.stderr[-2000:]}")


@dataclass(frozen=True)
class Image:
    """Decoded pixels: ``rows[y]`` holds ``width * channels`` bytes (RGB or RGBA)."""

    width: int
    height: int
    channels: int
    rows: list[bytes]

    def pixel(self, x: int, y: int) -> tuple[int, ...]:
        c = self.channels
        return tuple(self.rows[y][x * c : x * c + 3])

    def colors(self, step: int = 1) -> dict[tuple[int, ...], int]:
        """How many pixels of each RGB colour (every ``step``-th pixel of every ``step``-th row)."""
        counts: dict[tuple[int, ...], int] = {}
        c = self.channels
        for row in self.rows[::step]:
            for x in range(0, self.width * c, c * step):
                key = (row[x], row[x + 1], row[x + 2])
                counts[key] = counts.get(key, 0) + 1
        return counts


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def read_png(path: Path) -> Image:
    """An 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes)."""
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG")
    pos, idat, header = 8, bytearray(), b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if depth != 8 or color not in (2, 6) or interlace:
        raise ValueError(f"{path}: unsupported PNG (depth {depth}, colour {color})")
    bpp = 3 if color == 2 else 4
    stride = width * bpp
    raw = zlib.decompress(bytes(idat))
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind = raw[start]
        line = bytearray(raw[start + 1 : start + 1 + stride])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev, strict=True))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                up_left = prev[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + _paeth(left, prev[i], up_left)) & 0xFF
        rows.append(bytes(line))
        prev = line
    return Image(width, height, bpp, rows)


def dump_dom(url: str, *, budget_ms: int = 5000) -> str:
    """The DOM of ``url`` after headless Chromium has run its scripts for ``budget_ms``."""
    binary = chromium()
    if binary is None:
        raise RuntimeError("chromium not found: install Debian's 'chromium' package")
    with tempfile.TemporaryDirectory(prefix="aumai-chromium-") as profile:
        proc = subprocess.run(
            [
                binary,
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--virtual-time-budget={budget_ms}",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
    if proc.returncode != 0 or "<html" not in proc.stdout:
        raise RuntimeError(f"chromium failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc.stdout
