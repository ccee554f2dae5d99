"""The one home of :func:`no_gc`, for the code that builds millions of small objects at once
(the Excel functions over a whole range, the xlsx reader's columns)."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of short-lived lists and tuples are
    made (this code makes no reference cycles): with it running, each generation-2 pass walks
    every element of the growing lists — measured 3–5 times slower for the 1M-row output of a
    function and 4 times slower scans of a sheet. The collector is restored as it was."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
