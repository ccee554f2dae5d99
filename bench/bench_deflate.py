"""The deflate lever of issue 16, measured on the parts of a real workbook (not a test).

    .venv/bin/python bench/bench_deflate.py /tmp/bench_rerate/branch_20000_q2.xlsx

For each worksheet part of at least 1 MB: the time and compressed size of one deflate stream
(2 MB blocks, like ``zipwriter``) for zlib at levels 1-6, zlib-ng (``zlib-ng`` on PyPI) at 1-6,
ISA-L (``isal``) at 0-3 when installed, and of zlib / zlib-ng compressing independent 2 MB
pieces on two threads (pigz-style: each piece primed with the 32 KB before it, ended by a sync
flush), each beside zlib level 6 (what the writer used before). Every output is inflated again
and compared. The figures chosen from: docs/workbook.md "Speed".
"""

from __future__ import annotations

import argparse
import os
import time
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor

BLOCK = 2 << 20


def stream(mod, level: int, buf: bytes) -> bytes:
    c = mod.compressobj(level, mod.DEFLATED, -15)
    out = [c.compress(buf[k:k + BLOCK]) for k in range(0, len(buf), BLOCK)]
    out.append(c.flush())
    return b"".join(out)


def pieces(mod, level: int, buf: bytes, pool: ThreadPoolExecutor) -> bytes:
    starts = list(range(0, len(buf), BLOCK))

    def one(k: int) -> bytes:
        prime = buf[max(0, k - 32768):k]
        c = (mod.compressobj(level, mod.DEFLATED, -15, zdict=prime) if prime
             else mod.compressobj(level, mod.DEFLATED, -15))
        out = c.compress(buf[k:k + BLOCK])
        return out + (c.flush() if k == starts[-1] else c.flush(zlib.Z_SYNC_FLUSH))

    return b"".join(pool.map(one, starts))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("xlsx")
    ap.add_argument("--repeat", type=int, default=3, help="best of N")
    args = ap.parse_args()
    mods = [("zlib", zlib, range(1, 7))]
    try:
        from zlib_ng import zlib_ng
        mods.append(("zlib-ng", zlib_ng, range(1, 7)))
    except ImportError:
        zlib_ng = None
    try:
        from isal import isal_zlib
        mods.append(("isal", isal_zlib, range(4)))
    except ImportError:
        pass
    pool = ThreadPoolExecutor(2)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with zipfile.ZipFile(args.xlsx) as zf:
        parts = [(i.filename, zf.read(i)) for i in zf.infolist() if i.file_size >= 1 << 20]
    for name, buf in parts:
        print(f"{name}: {len(buf) / 1e6:.1f} MB of XML")
        cases = [(f"{m} {lv}", mod, lv, False) for m, mod, levels in mods for lv in levels]
        cases += [("zlib 6, 2 threads", zlib, 6, True)]
        if zlib_ng is not None:
            cases += [(f"zlib-ng {lv}, 2 threads", zlib_ng, lv, True) for lv in (4, 6)]
        base = None
        rows = []
        for label, mod, lv, two in cases:
            best = float("inf")
            for _ in range(args.repeat):
                t = time.perf_counter()
                out = pieces(mod, lv, buf, pool) if two else stream(mod, lv, buf)
                best = min(best, time.perf_counter() - t)
            assert zlib.decompress(out, -15) == buf, label
            rows.append((label, best, len(out)))
            if label == "zlib 6":
                base = (best, len(out))
        for label, t, size in rows:
            print(f"  {label:22} {t * 1000:7.0f} ms  {t / base[0]:5.2f}x  "
                  f"{size / 1e6:7.2f} MB  {size / base[1]:6.3f}  {len(buf) / t / 1e6:5.0f} MB/s")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
