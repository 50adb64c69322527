"""Hand the C allocator's free memory back to the system (glibc only; elsewhere nothing).

Objects over 512 bytes (a packed trip's parts, a changelog write, a fetched batch) come from
glibc's heap. A burst of load frees most of what it took, but glibc gives memory back only
from the top of its heap, and only beyond 128 KB free there: what was freed between live
objects stays the worker's for good. Measured by `bench/pipeline.py --active-trips 20000`, that
was a quarter of the worker's memory per trip. So the worker asks glibc to give back every
free page of its heap now and then (`malloc_trim(0)`), the remedy Dask's workers use for the
same symptom. (A lower trim threshold, Dask's other remedy, gives memory back at every free
at the top of the heap, and takes it again at the next allocation: it cost CPU per event.)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)


def _glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") else None


class MemoryTrim:
    def __init__(self) -> None:
        self._libc = _glibc()
        if self._libc is None:
            log.debug("not glibc: freed memory is given back as the allocator sees fit")

    @property
    def available(self) -> bool:
        return self._libc is not None

    def trim(self) -> None:
        """Give back every free page of the heap (a few milliseconds on a worker's heap)."""
        if self._libc is not None:
            self._libc.malloc_trim(0)
