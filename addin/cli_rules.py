"""``client-rating rules list | show ID | check [--rulebook ID]``."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from rich.console import Console
from rich.table import Table

import rules
from rules.errors import ParameterMissingError, show
from rules.verify import check, check_versions


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rules", help="规则：列出、查看参数表、校验（缺口、重叠、非单调）")
    rs = p.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    lst = rs.add_parser("list", help="列出所有规则及其生效版本")
    lst.set_defaults(func=cmd_list)
    show_p = rs.add_parser("show", help="显示一个规则的参数表")
    show_p.add_argument("rulebook")
    show_p.add_argument("--as-of", type=dt.date.fromisoformat, help="生效日期（默认今天）")
    show_p.add_argument("--params", help="公司参数文件（TOML），如 wealth 的阈值")
    show_p.set_defaults(func=cmd_show)
    chk = rs.add_parser("check", help="校验规则：缺口、重叠、遮蔽、非单调、版本生效期")
    chk.add_argument("--rulebook", help="只校验这一个规则（默认全部）")
    chk.add_argument("--as-of", type=dt.date.fromisoformat, help="生效日期（默认今天）")
    chk.add_argument("--params", help="公司参数文件（TOML）")
    chk.add_argument("--json", action="store_true", help="以 JSON 输出发现（供程序使用）")
    chk.set_defaults(func=cmd_check)


def _console() -> Console:
    return Console(soft_wrap=False, width=140 if not sys.stdout.isatty() else None)


def _params(args: argparse.Namespace, rid: str) -> dict[str, float] | None:
    if not args.params:
        return None
    from pathlib import Path

    return rules.load_parameter_file(Path(args.params)).get(rid)


def cmd_list(args: argparse.Namespace) -> int:
    t = Table(title="规则 (rulebooks)")
    for col in ("id", "版本", "生效", "名称", "来源", "说明"):
        t.add_column(col)
    for rid in rules.rulebook_ids():
        for v in rules.versions(rid):
            note = "需公司参数" if any(p.value is None for p in v.parameters.values()) else ""
            if v.assumption:
                note = (note + "；" if note else "") + "含重构/默认值"
            t.add_row(rid, v.version, f"{v.effective_from}–{v.effective_to or '至今'}", v.title,
                      f"seed {v.source.seed} {v.source.article}", note)
    _console().print(t)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    rid = args.rulebook
    try:
        rb = rules.get_rulebook(rid, args.as_of, _params(args, rid))
    except ParameterMissingError as e:
        print(f"错误：{e}", file=sys.stderr)
        data, _ = rules.version_in_force(rid, args.as_of or dt.date.today())
        for name in e.missing:
            p = data.parameters[name]
            print(f"  {name} = …   # {p.label}（{p.unit}）", file=sys.stderr)
        print(f"示例：{rules.EXAMPLE_PARAMETERS}", file=sys.stderr)
        return 1
    c = _console()
    c.print(f"[bold]{rb.ref}[/bold]  {rb.title}")
    c.print(f"来源：{rb.source.document} {rb.source.article}（seed {rb.source.seed}）")
    c.print(f"生效：{rb.effective_from} – {rb.effective_to or '至今'}；命中策略：{rb.hit_policy}；"
            f"就高不就低：{'是' if rb.upgrade_only else '否'}")
    sched = rb.data.schedule  # run windows (rules.schedule.run_window)
    windows = [f"{name}前 {w.days} 个工作日（{w.source.partition('：')[0]}）" for name, w in (
        ("年度评级", sched.annual), ("季度评级", sched.quarterly), ("新开户评级", sched.monthly))
        if w is not None] if sched is not None else []
    c.print("运行窗口：" + ("；".join(windows) if windows else "制度未规定（不核对运行日期）"))
    if rb.assumption:
        c.print(f"[yellow]假设：{rb.assumption}[/yellow]")
    if rb.parameters:
        pt = Table(title="参数")
        for col in ("参数", "含义", "值", "备注"):
            pt.add_column(col)
        for name, p in rb.data.parameters.items():
            pt.add_row(name, p.label, show(rb.parameters[name]),
                       ("默认值/假设；" if p.assumption else "") + p.note)
        c.print(pt)
    t = Table(title="规则表（自上而下）")
    for col in ("规则", "结论", "子类", "条件", "原文"):
        t.add_column(col)
    for r in rb.rules:
        t.add_row(r.id, rb.outputs[r.output].label, r.sub_class, rb.describe_rule(r), r.text)
    c.print(t)
    o = Table(title="级别")
    for col in ("级别", "代码", "别名", "服务", "年拜访"):
        o.add_column(col)
    for out in rb.outputs:
        o.add_row(out.label, out.code, "、".join(out.aliases), out.service or "、".join(out.services),
                  "" if out.visits_per_year is None else str(out.visits_per_year))
    c.print(o)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    ids = [args.rulebook] if args.rulebook else rules.rulebook_ids()
    findings = []
    for rid in ids:
        findings += check_versions(rules.versions(rid))
        try:
            rb = rules.get_rulebook(rid, args.as_of, _params(args, rid))
        except ParameterMissingError as e:
            if args.rulebook:
                print(f"错误：{e}", file=sys.stderr)
                return 1
            if not args.json:
                print(f"{rid}：跳过（{e.args[0].split('。')[0]}）")
            continue
        findings += check(rb)
    if args.json:
        print(json.dumps([{"kind": f.kind, "severity": f.severity, "rulebook": f.rulebook,
                           "rule_ids": list(f.rule_ids), "witness": f.witness,
                           "message": f.message, "detail": f.detail} for f in findings],
                         ensure_ascii=False, indent=2))
    else:
        for f in findings:
            print(f.text())
        print(f"共 {len(findings)} 项发现。" if findings else "未发现问题。")
    return 1 if findings else 0
