"""The demo: a realistic branch workbook, re-rated headless for the last complete quarter.

``client-rating demo`` (README command 1) = ``run_demo()``: build the workbook with the template,
set 当前级别 from a previous quarter for most clients, run the quarterly re-rating through the same
job the Excel button calls. The command prints the result (``addin.report.print_result``).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from rules import get_rulebook

from .console import ButtonMacros
from .job import RunResult, rerate
from .template import new_workbook

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘于蒋蔡余杜叶程"
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉"
_BRANCHES = ("杭州解放路营业部", "杭州庆春路营业部", "宁波中山路营业部", "温州车站大道营业部",
             "上海浦东营业部")
HYPERLINK_NAME = '=HYPERLINK("http://x","y")'


def previous_quarter(today: dt.date) -> str:
    """The last complete quarter before ``today`` (2026-11-21 -> 2026Q3)."""
    q = (today.month - 1) // 3 + 1
    return f"{today.year - 1}Q4" if q == 1 else f"{today.year}Q{q - 1}"


def _wan(x: float) -> str:
    return f"{x / 10_000:g}万"


def make_demo_clients(n: int = 2000, seed: int = 7, *,
                      today: dt.date | None = None) -> list[dict[str, Any]]:
    """Clients as dicts keyed by 客户 headers (see module doc of the demo for what is in them)."""
    today = today or dt.date.today()
    rng = np.random.default_rng(seed)
    n = max(int(n), 20)
    assets = np.exp(rng.normal(np.log(180_000), 1.35, n)).round(2)
    assets = np.clip(assets, 2_000, None)
    tail = rng.random(n) < 0.02
    assets[tail] = rng.uniform(1.0e7, 6.0e7, tail.sum()).round(2)
    commission = (assets * np.exp(rng.normal(np.log(0.012), 0.8, n))).round(2)
    commission = np.minimum(commission, 400_000)
    open_days = rng.integers(0, (today - dt.date(2005, 1, 1)).days, n)
    clients: list[dict[str, Any]] = []
    for i in range(n):
        name = (_SURNAMES[rng.integers(len(_SURNAMES))]
                + "".join(_GIVEN[k] for k in rng.integers(len(_GIVEN), size=rng.integers(1, 3))))
        kind = "个人" if rng.random() < 0.93 else ("机构" if rng.random() < 0.7 else "产品")
        c: dict[str, Any] = {
            "客户编号": f"KH{100001 + i:06d}",
            "客户名称": name if kind == "个人" else name[0] + "氏投资有限公司",
            "营业部": _BRANCHES[int(rng.integers(len(_BRANCHES)))],
            "客户性质": kind,
            "开户日期": dt.date(2005, 1, 1) + dt.timedelta(days=int(open_days[i])),
            "资产权益": float(assets[i]),
            "上年度净佣金": float(commission[i]) if rng.random() > 0.1 else None,
        }
        if rng.random() < 0.85:
            c["风险测评得分"] = int(rng.integers(9, 101))
            c["测评日期"] = today - dt.timedelta(days=int(rng.integers(10, 1200)))
        clients.append(c)
    # exact boundaries of the policy text (10,000,000 falls to 普通客户 under 2009.1 as written)
    for k, v in zip(range(5, 5 + 8), (10_000_000, 10_000_000, 250_000, 250_000, 100_000,
                                      10_000, 9_999_999.99, 10_000_000.01), strict=True):
        clients[k]["资产权益"] = float(v)
    clients[9]["上年度净佣金"] = 5_000.0
    clients[10]["上年度净佣金"] = 3_000.0
    # numbers typed as text
    for k in range(14, n, max(n // 40, 7)):
        x = clients[k]["资产权益"]
        clients[k]["资产权益"] = _wan(round(x, -4) or 10_000) if k % 2 else f"{x:,.0f}"
    clients[3]["资产权益"] = "25万"
    # accounts opened in the quarter being rated
    for k in range(20, min(n, 60), 4):
        clients[k]["开户日期"] = today.replace(day=1) - dt.timedelta(days=int(rng.integers(60, 140)))
    # a name that looks like a formula: must stay text
    clients[2]["客户名称"] = HYPERLINK_NAME
    # approved special adjustments
    clients[11].update({"特别调整级别": "VIP客户", "调整审批人": "王总（分管副总）",
                        "调整原因": "集团战略客户"})
    clients[12].update({"特别调整级别": "核心", "调整审批人": "李经理", "调整原因": "托管资产转入"})
    # bad rows: the job rejects them and leaves their cells as they are
    clients[n - 1]["资产权益"] = -5.0
    clients[n - 2]["资产权益"] = "abc"
    clients[n - 3].update({"特别调整级别": "VIP客户", "调整原因": "未走审批"})
    clients[n - 4]["客户编号"] = clients[n - 5]["客户编号"]
    clients[n - 6]["风险测评得分"] = 120
    return clients


def _previous_tiers(clients: list[dict[str, Any]], seed: int, as_of: dt.date) -> None:
    """当前级别 (and 年度级别) from a previous quarter: most clients had a tier already."""
    from rules import cells as coerce

    rb = get_rulebook("brokerage", as_of)
    rng = np.random.default_rng(seed + 1)
    prev_a, prev_c = [], []
    for c in clients:
        try:
            a = coerce.number(c.get("资产权益"), "资产权益") or 0.0
        except ValueError:
            a = 0.0
        prev_a.append(max(a, 0.0) * float(np.exp(rng.normal(0.0, 0.35))))
        prev_c.append(c.get("上年度净佣金") or 0.0)
    labels = rb.evaluate_many([np.array(prev_a), np.array(prev_c, float)]).labels
    for k, c in enumerate(clients):
        u = rng.random()
        if labels[k] is None:
            continue
        if u < 0.85:
            c["当前级别"] = str(labels[k])
            c["年度级别"] = str(labels[k])
        elif u < 0.95:
            c["年度级别"] = str(labels[k])


def run_demo(n: int = 2000, out_dir: str | os.PathLike[str] = "out", *, seed: int = 7,
             today: dt.date | None = None, console: Console | None = None,
             quiet: bool = False, macros: ButtonMacros | None = None) -> RunResult:
    """Build the demo workbook and re-rate the last complete quarter headless (the caller shows
    the result: ``addin.report.print_result``). ``macros``: the add-in's button macros
    (``addin.buttons.WORKBOOK_MACROS``) for the .xlsm's 控制台 buttons."""
    today = today or dt.date.today()
    console = console or Console()
    period = previous_quarter(today)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "demo-branch.xlsm"
    clients = make_demo_clients(n, seed, today=today)
    _previous_tiers(clients, seed, today)
    if not quiet:
        console.print(f"生成演示工作簿：{len(clients)} 位客户 → {path}")
    new_workbook(path, "brokerage", clients, macros=macros)
    res = rerate(path, period=period, mode="quarterly", operator="演示", force=True,
                 now=dt.datetime.combine(today, dt.datetime.now().time()))
    return res
