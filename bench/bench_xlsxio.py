"""Benchmark of workbook.xlsxio on a big client sheet (not a test).

    .venv/bin/python bench/bench_xlsxio.py --rows 100000

Builds an N-row x 20-column workbook (XlsxWriter constant_memory), then times
(a) a bare re-zip of the same file (read every entry, recompress, write) and
(b) read_sheet + patch_workbook changing 3 columns on every row and appending 2 new columns.
Goal (xlsxio's share of the issue): (b) <= 1.5 x (a) at 1M rows, peak RSS <= 700 MB.

Like for like: the re-zip and the patched worksheet part are both deflated at level 6 (zipfile's
default; ``--compresslevel`` changes only the patch) by the same deflate (``zipwriter.DEFLATE``:
zlib-ng when installed, else zlib). xlsxio inflates and deflates in
background threads (zlib releases the GIL), so the CPU seconds (all threads) are printed
beside the wall times: on a busy machine the wall time of (b) suffers more than (a)'s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import resource
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workbook.xlsxio import SheetEdit, patch_workbook, read_sheet, zipwriter

TIERS = ["VIP客户", "核心客户", "潜力客户", "普通客户"]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def build(path: Path, rows: int) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("客户")
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    headers = ["客户编号", "客户名称", "营业部", "客户性质", "开户日期", "资产权益", "上年度净佣金",
               "日均资产", "上年度管理费", "资产周转率", "风险测评得分", "测评日期", "年度级别",
               "当前级别", "特别调整级别", "调整审批人", "调整原因", "备注1", "备注2", "备注3"]
    ws.write_row(0, 0, headers)
    base = dt.datetime(2015, 1, 1)
    for r in range(1, rows + 1):
        ws.write_string(r, 0, f"C{r:08d}")
        ws.write_string(r, 1, f"客户{r}")
        ws.write_string(r, 2, f"营业部{r % 37}")
        ws.write_string(r, 3, ("个人", "机构", "产品")[r % 3])
        ws.write_datetime(r, 4, base + dt.timedelta(days=r % 3000), date_fmt)
        ws.write_number(r, 5, r * 13.7)
        ws.write_number(r, 6, r * 0.37)
        ws.write_number(r, 7, r * 11.1)
        ws.write_number(r, 8, r * 0.5)
        ws.write_number(r, 9, (r % 100) / 10)
        ws.write_number(r, 10, 9 + r % 92)
        ws.write_datetime(r, 11, base + dt.timedelta(days=r % 3650), date_fmt)
        ws.write_string(r, 12, TIERS[r % 4])
        ws.write_string(r, 13, TIERS[(r + 1) % 4])
        ws.write_blank(r, 14, None)
        ws.write_string(r, 15, "")
        ws.write_string(r, 16, "")
        ws.write_number(r, 17, r)
        ws.write_string(r, 18, "x")
        ws.write_string(r, 19, "备注")
    wb.close()


def rezip(src: Path, dst: Path, deflate=None, level: int = 6) -> None:
    """zipfile's plain re-zip, single-threaded: inflate every entry and deflate it again at
    ``level``; ``deflate`` (a ``zipwriter.Deflate``) swaps zipfile's compressor for the one
    xlsxio writes with (same level mapping), so both sides use the same deflate."""
    real = zipfile._get_compressor
    if deflate is not None:
        def compressor(compress_type, compresslevel=None):
            if compress_type == zipfile.ZIP_DEFLATED:
                return deflate.compressobj(level)
            return real(compress_type, compresslevel)
        zipfile._get_compressor = compressor
    try:
        with (zipfile.ZipFile(src) as zf,
              zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zw):
            for info in zf.infolist():
                with zf.open(info) as fin, zw.open(info.filename, "w", force_zip64=True) as fout:
                    while True:
                        buf = fin.read(1 << 20)
                        if not buf:
                            break
                        fout.write(buf)
    finally:
        zipfile._get_compressor = real


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--dir", type=Path, default=None)
    ap.add_argument("--compresslevel", type=int, default=6)
    args = ap.parse_args()
    tmp = Path(args.dir or tempfile.mkdtemp(prefix="bench_xlsxio_"))
    tmp.mkdir(parents=True, exist_ok=True)
    src = tmp / f"clients_{args.rows}.xlsx"
    if not src.exists():
        t = time.perf_counter()
        build(src, args.rows)
        print(f"build      {time.perf_counter() - t:7.1f} s  ({src.stat().st_size / 1e6:.0f} MB)")

    t, c = time.perf_counter(), cpu_s()
    rezip(src, tmp / "rezip.xlsx", zipwriter.DEFLATE)
    t_a = time.perf_counter() - t
    print(f"(a) re-zip {t_a:7.1f} s   ({zipwriter.DEFLATE.name}; cpu {cpu_s() - c:.1f} s, "
          f"{(tmp / 'rezip.xlsx').stat().st_size / 1e6:.0f} MB)")

    dst = tmp / "patched.xlsx"
    t, c = time.perf_counter(), cpu_s()
    s = read_sheet(src, "客户")
    t_read = time.perf_counter() - t
    c_read = cpu_s() - c
    n = s.n_data_rows
    cur = s.column("当前级别")
    new_tier = [TIERS[(i + 2) % 4] for i in range(n)]
    change = ["升级" if a != b else "维持" for a, b in zip(cur, new_tier, strict=True)]
    del cur
    assets = [x * 1.01 if isinstance(x, float) else x for x in s.column("资产权益")]
    ncol = s.n_cols
    del s
    gc.collect()
    edit = SheetEdit(
        cells={(1, ncol + 1): "级别变动", (1, ncol + 2): "评级期间"},
        columns={14: new_tier, 6: assets, 13: new_tier, ncol + 1: change,
                 ncol + 2: ["2026Q4"] * n},
    )
    t2, c2 = time.perf_counter(), cpu_s()
    patch_workbook(src, dst, {"客户": edit}, compresslevel=args.compresslevel)
    t_patch = time.perf_counter() - t2
    c_patch = cpu_s() - c2
    t_b = time.perf_counter() - t
    print(f"(b) read   {t_read:7.1f} s + patch {t_patch:.1f} s = {t_b:.1f} s "
          f"({dst.stat().st_size / 1e6:.0f} MB; level {args.compresslevel})")
    print(f"    cpu    {c_read:7.1f} s + patch {c_patch:.1f} s")
    print(f"ratio b/a  {t_b / t_a:7.2f}")
    print(f"peak RSS   {peak_mb():7.0f} MB")


if __name__ == "__main__":
    main()
