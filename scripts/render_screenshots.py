"""Render the sheets of the demo workbook to PNG for the docs, with LibreOffice (not a test).

    .venv/bin/python scripts/render_screenshots.py [--out docs/img]

Builds the demo branch (``client-rating demo``: template, generated clients, the quarterly
re-rating run headless), has LibreOffice print it to PDF (``soffice --headless``), and rasterises
the first page of each sheet with PyMuPDF (``pip install pymupdf`` — a docs tool only, not a
dependency of the product; Chinese text needs a CJK font, e.g. ``apt-get install
fonts-wqy-microhei``). What is shown is LibreOffice's rendering of the file we write, not
Excel's: LibreOffice does not know our functions (=CLIENT_TIER…), so where it recalculates a
formula cell it shows #NAME? instead of the value Excel shows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: picture name -> (text found only on that sheet's first page, (x0, y0, x1, y1) of the page
#: kept, as shares of its width and height)
SHEETS = {
    "console": ("重评级控制台", (0.0, 0.03, 0.9, 0.3)),
    "clients": ("级别依据", (0.04, 0.05, 0.5, 0.42)),
    "clients-right": ("级别依据", (0.45, 0.05, 0.98, 0.42)),
    "history": ("记录类型", (0.04, 0.06, 0.62, 0.3)),
    "summary": ("评级后", (0.0, 0.03, 1.0, 0.75)),
    "rules": ("规则编号", (0.0, 0.03, 1.0, 0.5)),
}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    ap.add_argument("--clients", type=int, default=40)
    ap.add_argument("--dpi", type=int, default=110)
    args = ap.parse_args()
    try:
        import pymupdf
    except ImportError:
        print("需要 PyMuPDF：pip install pymupdf", file=sys.stderr)
        return 1
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        print("需要 LibreOffice（soffice）", file=sys.stderr)
        return 1
    from addin.buttons import WORKBOOK_MACROS
    from workbook.demo import run_demo

    tmp = Path(tempfile.mkdtemp(prefix="shots_"))
    run_demo(args.clients, tmp, today=dt.date(2026, 11, 21), quiet=True, macros=WORKBOOK_MACROS)
    book = tmp / "demo-branch.xlsm"
    subprocess.run([soffice, f"-env:UserInstallation=file://{tmp}/profile", "--headless",
                    "--convert-to", "pdf", "--outdir", str(tmp), str(book)],
                   check=True, capture_output=True, timeout=300)
    doc = pymupdf.open(tmp / "demo-branch.pdf")
    args.out.mkdir(parents=True, exist_ok=True)
    for name, (marker, (x0, y0, x1, y1)) in SHEETS.items():
        page = next((p for p in doc if marker in p.get_text()), None)
        if page is None:
            print(f"没有找到 {name}（{marker}）", file=sys.stderr)
            return 1
        r = page.rect
        clip = pymupdf.Rect(r.x0 + r.width * x0, r.y0 + r.height * y0,
                            r.x0 + r.width * x1, r.y0 + r.height * y1)
        dpi = args.dpi * (2 if name.startswith(("clients", "history")) else 1)  # wide sheets
        page.get_pixmap(dpi=dpi, clip=clip).save(args.out / f"{name}.png")
        print(args.out / f"{name}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
