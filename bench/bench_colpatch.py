"""CPU of the column-wise patch of 客户's cells (``colpatch.patch_piece``), replayed (not a test).

    .venv/bin/python bench/bench_colpatch.py capture --dir DIR --clients N --out CAP
    .venv/bin/python bench/bench_colpatch.py replay CAP [--reps 3]

``capture`` runs the steady quarter of ``bench_rerate.py`` (DIR/branch_N_q2.xlsx, built by that
bench, copied first) in one process and pickles what ``patch_piece`` was given: every piece of
客户, the edits as lists (the lazy 级别依据 column made whole), the styles and each piece's
``last_style``. ``replay`` patches those pieces again with the code on ``PYTHONPATH`` (e.g.
``PYTHONPATH=/work/main`` then ``PYTHONPATH=/work/wt/BRANCH``) and prints
the CPU seconds of ``patch_piece`` alone (the best of ``--reps`` passes) and a digest of its
output, so two branches can be compared back to back on the same input: same digest, same bytes.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import hashlib
import pickle
import shutil
import sys
import time
import types
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1]))  # (PYTHONPATH picks the tree to time)

import workbook
from workbook.xlsxio import colpatch, parpatch
from workbook.xlsxio.cells import CellWriter
from workbook.xlsxio.rowpatch import KEEP, Edits, RowPatcher, SheetEdit

_KEEP = "\0KEEP"  # (KEEP is a singleton: pickled as this marker)


def capture(tmp: Path, n: int, out: Path) -> None:
    from workbook.job import rerate

    parpatch.MIN_BYTES = 1 << 62  # one process: every piece seen here
    calls: list[tuple[bytes, int, dict]] = []
    first: dict = {}
    real = colpatch.patch_piece

    def seen(pt, piece, last):
        if not first:
            first.update(pt=pt, styles=copy.deepcopy(pt.w.styles))
        calls.append((piece, last, dict(pt.last_style)))
        return real(pt, piece, last)

    colpatch.patch_piece = seen
    work = tmp / "work_colpatch.xlsx"
    shutil.copyfile(tmp / f"branch_{n}_q2.xlsx", work)
    rerate(work, period="2026Q3", mode="quarterly", operator="bench",
           now=dt.datetime(2026, 10, 9, 10))
    pt = first["pt"]
    e = pt.edits
    cols = {c: [_KEEP if v is KEEP else v for v in e.column_list(c)[0:len(e.columns[c])]]
            for c in e.columns}
    with open(out, "wb") as f:
        pickle.dump(dict(ns=pt.ns, col_defaults=pt.col_defaults, column_styles=e.column_styles,
                         columns=cols, styles=first["styles"], date1904=pt.w.date1904,
                         calls=calls), f, protocol=5)
    print(f"{len(calls)} pieces, columns {sorted(cols)} -> {out}")


def replay(cap: Path, reps: int) -> None:
    with open(cap, "rb") as f:
        st = pickle.load(f)
    cols = {c: [KEEP if v == _KEEP else v for v in vals] for c, vals in st["columns"].items()}
    best, digest = float("inf"), ""
    for _ in range(reps):
        e = Edits(SheetEdit(column_styles=st["column_styles"], columns=cols))
        w = CellWriter(copy.deepcopy(st["styles"]), st["date1904"])
        pt = RowPatcher(types.SimpleNamespace(ns=st["ns"], prefix=b""), e, w, True)
        pt.col_defaults = st["col_defaults"]
        h, cpu, other = hashlib.sha256(), 0.0, 0
        for piece, last, last_style in st["calls"]:
            pt.last_style = dict(last_style)
            t = time.process_time()
            got = colpatch.patch_piece(pt, piece, last)
            cpu += time.process_time() - t
            other += got is None
            h.update(b"(per-row code)" if got is None else got[0] + str(got[1]).encode())
            h.update(repr(sorted(pt.last_style.items())).encode())
        h.update(repr(w.styles.data).encode())
        best, digest = min(best, cpu), h.hexdigest()[:16]
    print(f"{Path(workbook.__file__).parents[1]}: patch_piece {best:.3f} s CPU (best of {reps}) for {len(st['calls'])} pieces "
          f"({other} left to the per-row code), output digest {digest}")


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("capture")
    c.add_argument("--dir", type=Path, required=True)
    c.add_argument("--clients", type=int, default=200_000)
    c.add_argument("--out", type=Path, required=True)
    r = sub.add_parser("replay")
    r.add_argument("cap", type=Path)
    r.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    if args.cmd == "capture":
        capture(args.dir, args.clients, args.out)
    else:
        replay(args.cap, args.reps)


if __name__ == "__main__":
    main()
