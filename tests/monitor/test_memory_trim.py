"""The worker gives freed C heap back to the system (monitor/memory_trim.py)."""

from __future__ import annotations

import os

from core.processes import resident_bytes
from monitor.memory_trim import MemoryTrim

MB = 1024 * 1024


def test_memory_freed_between_live_objects_is_given_back():
    trim = MemoryTrim()
    assert trim.available  # glibc, as on every machine this runs on
    trim.trim()
    # 60 MB of 1 KB objects (from glibc's heap: over pymalloc's 512 B), one in eight kept: the
    # kept ones pin the heap, so glibc alone gives none of the freed 52 MB back
    chunks = [os.urandom(8) * 128 for _ in range(60 * 1024)]
    kept = chunks[::8]
    del chunks
    before = resident_bytes(os.getpid())
    trim.trim()
    after = resident_bytes(os.getpid())
    assert before - after > 15 * MB, (before // MB, after // MB)  # the whole pages among the holes
    assert len(kept) == 7_680
