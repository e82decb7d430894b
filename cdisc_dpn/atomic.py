"""Atomic file writes shared by every writer: a file appears complete or not at all.

Data goes to a temporary file in the target's folder, is flushed to disk and moved into place
with os.replace; on any failure (or interrupt) the temporary file is removed and the previous
file, if any, stays as it was.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Iterable


def write_atomic(path: str | os.PathLike, data: bytes | str | Iterable[bytes | memoryview],
                 encoding: str = "utf-8") -> int:
    """Write bytes, text (UTF-8, newlines as given) or an iterable of byte chunks; returns bytes written."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    chunks = [data.encode(encoding)] if isinstance(data, str) else [data] if isinstance(data, bytes) else data
    written = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                written += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return written
