"""A/B check of ``rate-table``'s outputs between two source trees (not a test: a 1M run is too
slow for the suite).

    .venv/bin/python bench/ab_table.py [--a /work/main] [--b .] [--clients 1000000]
        [--dir /tmp/bench-table] [--mode quarterly]

Rates the same extract (``bench_table``'s, generated once in --dir) with the local engine of
tree A and of tree B, each in a child process with that tree first on ``sys.path`` and the same
run time, and says whether the decisions and rejections (every value, and the schema), the
summary.json and the history (each part's digest, the Merkle root, the run's digest) are the
same, and whether ``audit-table`` finds the B run's history intact. Exit status 0 only when
everything is identical.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]


def run(tree: Path, src: Path, out: Path, mode: str) -> None:
    code = (f"import sys; sys.path.insert(0, {str(tree)!r}); import datetime as dt; "
            f"from workbook.table import rate_table; "
            f"rate_table({str(src)!r}, period='2026Q3', mode={mode!r}, out={str(out)!r}, "
            f"operator='bench', now=dt.datetime(2026, 11, 21, 9, 0))")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tree)


def compare(a: Path, b: Path) -> list[str]:
    """What differs between two output directories (empty: nothing)."""
    found = []
    for f in ("decisions.parquet", "rejections.parquet"):
        ta, tb = pq.read_table(a / f), pq.read_table(b / f)
        if ta.schema != tb.schema:
            found.append(f"{f}: schema {ta.schema} != {tb.schema}")
        elif not ta.equals(tb):
            found.append(f"{f}: values differ ({ta.num_rows} / {tb.num_rows} rows)")
    sa, sb = (json.loads((d / "summary.json").read_text(encoding="utf-8")) for d in (a, b))
    if sa != sb:
        found.append("summary.json differs")
    ma, mb = ([json.loads(p.read_text(encoding="utf-8"))
               for p in sorted((d / "history").glob("run=*/_manifest.json"))] for d in (a, b))
    if ma != mb:
        found.append("history manifests differ (parts' digests, Merkle root or run digest)")
    return found


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", default="/work/main")
    ap.add_argument("--b", default=str(ROOT))
    ap.add_argument("--clients", type=int, default=1_000_000)
    ap.add_argument("--dir", default=str(Path(tempfile.gettempdir()) / "bench-table"))
    ap.add_argument("--mode", default="quarterly")
    args = ap.parse_args()
    src = Path(args.dir) / f"clients-{args.clients}.parquet"
    if not src.exists():
        sys.path.insert(0, str(ROOT / "bench"))
        import bench_table

        Path(args.dir).mkdir(parents=True, exist_ok=True)
        bench_table.generate(args.clients, src)
    with tempfile.TemporaryDirectory(prefix="ab-table-") as tmp:
        outs = [Path(tmp) / "a", Path(tmp) / "b"]
        for tree, out in zip((args.a, args.b), outs, strict=True):
            run(Path(tree).resolve(), src, out, args.mode)
        found = compare(*outs)
        sys.path.insert(0, str(Path(args.b).resolve()))
        from workbook.table.history import verify

        found += [f"audit of B: {m}" for m in verify(outs[1])]
        m = json.loads(next((outs[1] / "history").glob("run=*/_manifest.json"))
                       .read_text(encoding="utf-8"))
    print("\n".join(found) if found else
          f"identical: decisions, rejections, summary.json, history (run digest {m['digest']})")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
