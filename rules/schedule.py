"""评级周期与运行窗口 —— periods and run windows (seed 000 第六条（二）, seed 001 第十条; POLICY.md).

* 周期 (``Period``)：季度 "2026Q4"、年度 "2026"、月份 "2026-11"（新开户动态分级）。
  ``end`` 是数据截止日（as-of date）：2026Q4 → 2026-12-31，2026 → 2026-12-31，2026-11 → 2026-11-30。
* 工作日：上海证券交易所 (SSE, "XSHG") 的交易日 —— 周末、法定节假日及其调休安排均不开市
  （调休上班的周六/周日交易所也不开市）。休市表取自 ``exchange-calendars`` 包，另可在
  ``rules/data/extra_holidays.toml`` 补录包里还没有的年份。
* 超出休市表维护范围的日期 **不会** 被当作平日工作日，而是抛出 ``RuleInputError``；只有
  ``run_window(..., assume_weekdays=True)``（Excel 函数与评级运行）按周一至周五推算，并说明。
* 运行窗口属于规则：每个规则文件的 ``[schedule]`` 写明各模式的工作日数及条款，例如种子 000
  第六条（二）：年度 10、季度 3、新开户 3 个工作日；种子 001 第十条：10、3、5 个工作日。
"""

from __future__ import annotations

import functools
import math
import re
import warnings
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rules._common import as_date, load_toml_model, month_end
from rules.errors import RuleInputError, show

PeriodKind = Literal["quarter", "year", "month"]
Mode = Literal["quarterly", "annual", "new-accounts"]

#: 交易日历的起始年份（更早的日期不支持）。
FIRST_CALENDAR_YEAR = 2000
#: 补充休市日文件。
EXTRA_HOLIDAYS_FILE = Path(__file__).parent / "data" / "extra_holidays.toml"

_MIN_YEAR, _MAX_YEAR = 1990, 2100
_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4}


# --------------------------------------------------------------------------- periods


@dataclass(frozen=True)
class Period:
    """一个评级周期。``number``：季度 1–4、月份 1–12，年度为 ``None``。``end`` = 数据截止日。"""

    kind: PeriodKind
    year: int
    number: int | None
    start: date
    end: date
    label: str
    mode: Mode

    def __str__(self) -> str:
        return self.label


def _quarter(year: int, q: int) -> Period:
    start = date(year, 3 * q - 2, 1)
    end = month_end(year, 3 * q)
    return Period("quarter", year, q, start, end, f"{year}Q{q}", "quarterly")


def _year(year: int) -> Period:
    return Period("year", year, None, date(year, 1, 1), date(year, 12, 31), f"{year}", "annual")


def _month(year: int, m: int) -> Period:
    return Period("month", year, m, date(year, m, 1), month_end(year, m),
                  f"{year}-{m:02d}", "new-accounts")




_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(\d{4})\s*-?\s*[Qq]\s*(\d{1,2})"), "quarter"),
    (re.compile(r"(\d{4})\s*年\s*第?\s*([1-9一二三四]|\d{2})\s*季度?"), "quarter"),
    (re.compile(r"(\d{4})\s*年?"), "year"),
    (re.compile(r"(\d{4})\s*[-/.]\s*(\d{1,2})"), "month"),
    (re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月"), "month"),
]


def parse_period(text: str | int) -> Period:
    """解析评级周期。

    接受：季度 "2026Q4"、"2026q4"、"2026-Q4"、"2026年第4季度"（也可写"第四季度"）；
    年度 "2026"、"2026年" 或整数 2026；月份 "2026-11"、"2026/11"、"2026年11月"。
    其他输入（日期对象、布尔值、小数、季度 0/5、月份 13 …）抛出 ``RuleInputError``。
    """
    if isinstance(text, bool) or not isinstance(text, (str, int)):
        raise RuleInputError(
            f"评级周期 {show(text)} 无法识别：请填写文字，如 2026Q4、2026 或 2026-11",
            field="评级周期", value=text)
    if isinstance(text, int):
        _check_year(text, text)
        return _year(text)
    s = text.strip().replace("－", "-").replace("／", "/").replace("Ｑ", "Q").replace("ｑ", "q")
    for pattern, kind in _PATTERNS:
        m = pattern.fullmatch(s)
        if not m:
            continue
        year = int(m.group(1))
        _check_year(year, text)
        if kind == "year":
            return _year(year)
        raw = m.group(2)
        n = _CN_DIGITS.get(raw) or int(raw)
        if kind == "quarter":
            if not 1 <= n <= 4:
                raise RuleInputError(f"评级周期 {show(text)} 的季度 {n} 无效：季度应为 1–4",
                                     field="评级周期", value=text)
            return _quarter(year, n)
        if not 1 <= n <= 12:
            raise RuleInputError(f"评级周期 {show(text)} 的月份 {n} 无效：月份应为 1–12",
                                 field="评级周期", value=text)
        return _month(year, n)
    raise RuleInputError(
        f"评级周期 {show(text)} 无法识别：请填写 2026Q4（季度）、2026（年度）或 2026-11（月份）",
        field="评级周期", value=text)


_EXCEL_EPOCH = date(1899, 12, 30)  # day 0 of Excel's (Windows) date serials, as xlwings reads them
_YEAR_NUMBER = re.compile(r"(\d{4})\.0*")


def period_of_cell(value: Any) -> Period:
    """The period a cell holds, as Excel and its readers hand it over (控制台's 评级期间, an Excel
    function's argument, a value read from a file), for every front end alike.

    Besides :func:`parse_period`'s texts and integers: a whole number as float (Excel stores
    ``2026`` typed into a cell as the number 2026.0) is that year; a date on the 1st of a month
    is that month (Excel turns ``2026-11`` typed into a cell into the date 2026-11-01); a date
    whose Excel serial is a year 1990–2100 (``2026`` typed into a date-formatted cell reads as
    1905-07-18, serial 2026) is that year. Any other date is refused (a day is not a period), as
    are fractions, NaN, infinity, TRUE/FALSE and empty cells.
    """
    if isinstance(value, Period):
        return value
    if isinstance(value, date):  # (datetime too)
        d = value.date() if isinstance(value, datetime) else value
        serial = (d - _EXCEL_EPOCH).days
        if _MIN_YEAR <= serial <= _MAX_YEAR and not (isinstance(value, datetime)
                                                     and value.time() != datetime.min.time()):
            return parse_period(serial)
        if d.day != 1 or (isinstance(value, datetime) and value.time() != datetime.min.time()):
            raise RuleInputError(
                f"评级周期不能是具体日期：{value:%Y-%m-%d}（请写 2026Q4、2026 或 2026-11；"
                "单元格若被 Excel 设成了日期格式，请先改为“文本”再输入）",
                field="评级周期", value=value)
        return parse_period(f"{d.year}-{d.month:02d}")
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            shown = repr(value) if math.isfinite(value) else show(value)
            raise RuleInputError(f"评级周期 {shown} 无法识别：请写 2026Q4、2026 或 2026-11",
                                 field="评级周期", value=value)
        return parse_period(int(value))
    if isinstance(value, str) and (m := _YEAR_NUMBER.fullmatch(value.strip())):
        return parse_period(int(m.group(1)))  # "2026.0": a number cell passed on as text
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RuleInputError("评级周期为空：请填写 2026Q4（季度）、2026（年度）或 2026-11（月份）",
                             field="评级周期", value=value, kind="na")
    return parse_period(value)


def _check_year(year: int, original: Any) -> None:
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        shown = str(original) if isinstance(original, int) else show(original)
        raise RuleInputError(
            f"评级周期 {shown} 的年份 {year} 超出支持范围（{_MIN_YEAR}–{_MAX_YEAR}）",
            field="评级周期", value=original)


# --------------------------------------------------------------------------- calendar data


class ExtraYear(BaseModel):
    """extra_holidays.toml 中某一年的官方休市安排。"""

    model_config = ConfigDict(extra="forbid", frozen=True)

    year: int = Field(ge=FIRST_CALENDAR_YEAR, le=_MAX_YEAR)
    source: str = Field(min_length=1)
    holidays: list[date] = Field(min_length=1)

    @model_validator(mode="after")
    def _dates_in_year(self) -> ExtraYear:
        for d in self.holidays:
            if d.year != self.year:
                raise ValueError(f"休市日 {d} 不属于 {self.year} 年")
        return self


class ExtraHolidays(BaseModel):
    """extra_holidays.toml 的整体结构：``[[years]]`` 表的列表（可以为空）。"""

    model_config = ConfigDict(extra="forbid", frozen=True)

    years: list[ExtraYear] = Field(default_factory=list)

    @field_validator("years")
    @classmethod
    def _unique_years(cls, years: list[ExtraYear]) -> list[ExtraYear]:
        seen = [y.year for y in years]
        dup = {y for y in seen if seen.count(y) > 1}
        if dup:
            raise ValueError(f"年份重复：{sorted(dup)}")
        return years


def load_extra_holidays(path: Path | str = EXTRA_HOLIDAYS_FILE) -> ExtraHolidays:
    """读取并校验补充休市日文件；格式错误抛出 ``RulebookError``（指明文件与字段）。"""
    return load_toml_model(path, ExtraHolidays, "交易日历补充文件")


class TradingCalendar:
    """上交所工作日历：exchange-calendars 的 XSHG 交易日 + 补充文件中的年份。

    ``covered_years`` 之外的日期一律报错，不按平日推定。
    """

    def __init__(self, extra: ExtraHolidays | None = None) -> None:
        import exchange_calendars as xcals  # heavy import, only when first needed
        from exchange_calendars.exchange_calendar_xshg import XSHGExchangeCalendar

        self.package_last_year = XSHGExchangeCalendar.bound_max().year
        with warnings.catch_warnings():  # pandas deprecation noise from inside the package
            warnings.simplefilter("ignore")
            cal = xcals.get_calendar("XSHG", start=f"{FIRST_CALENDAR_YEAR}-01-01",
                                     end=f"{self.package_last_year}-12-31")
            self._sessions = frozenset(ts.date() for ts in cal.sessions)
        extra = extra or ExtraHolidays()
        self._extra_holidays = frozenset(d for y in extra.years for d in y.holidays)
        self.covered_years = frozenset(range(FIRST_CALENDAR_YEAR, self.package_last_year + 1)) \
            | {y.year for y in extra.years}
        last = self.package_last_year
        while last + 1 in self.covered_years:
            last += 1
        self.last_year = last

    def check(self, d: date) -> None:
        """``d`` 不在维护范围内时抛出 ``RuleInputError``。"""
        if d.year < FIRST_CALENDAR_YEAR:
            raise RuleInputError(
                f"日期 {d.isoformat()} 早于交易日历的起始年份 {FIRST_CALENDAR_YEAR} 年，"
                "无法判断是否为工作日", field="日期", value=d)
        if d.year not in self.covered_years:
            raise RuleInputError(
                f"交易日历只维护到 {self.last_year} 年，无法判断 {d.isoformat()} 是否为工作日"
                f"（请升级 exchange-calendars 或在 rules/data/extra_holidays.toml 补充 "
                f"{d.year} 年上交所休市安排）", field="日期", value=d)

    def is_working_day(self, d: date) -> bool:
        self.check(d)
        if d in self._extra_holidays or d.weekday() >= 5:
            return False
        if d.year <= self.package_last_year:
            return d in self._sessions
        return True


@functools.cache
def trading_calendar() -> TradingCalendar:
    """进程内共享的工作日历（只加载一次）。"""
    return TradingCalendar(load_extra_holidays())


# --------------------------------------------------------------------------- working days




def is_working_day(d: date) -> bool:
    """``d`` 是否为上交所交易日（工作日）。超出日历维护范围时报错。"""
    return trading_calendar().is_working_day(as_date(d))


def working_days(start: date, end: date) -> list[date]:
    """``start`` 至 ``end``（含两端）之间的全部工作日，按日期升序。"""
    start, end = as_date(start, "开始日期"), as_date(end, "结束日期")
    if start > end:
        raise RuleInputError(
            f"开始日期 {start.isoformat()} 晚于结束日期 {end.isoformat()}",
            field="开始日期", value=start)
    cal = trading_calendar()
    cal.check(start)
    cal.check(end)
    out, d = [], start
    while d <= end:
        if cal.is_working_day(d):
            out.append(d)
        d += timedelta(days=1)
    return out


def nth_working_day(year: int, month: int, n: int) -> date:
    """某年某月的第 ``n`` 个工作日（``n`` 从 1 开始）。"""
    for name, v, lo, hi in (("年份", year, _MIN_YEAR, _MAX_YEAR), ("月份", month, 1, 12),
                            ("序号", n, 1, 31)):
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise RuleInputError(f"{name} {show(v)} 无效：应为 {lo}–{hi} 的整数",
                                 field=name, value=v)
    days = working_days(date(year, month, 1), month_end(year, month))
    if n > len(days):
        raise RuleInputError(
            f"{year} 年 {month} 月只有 {len(days)} 个工作日，没有第 {n} 个",
            field="序号", value=n)
    return days[n - 1]


# --------------------------------------------------------------------------- run windows

#: the rulebook whose run windows a caller gets when it names none (the product's default)
DEFAULT_WINDOW_RULEBOOK = "brokerage"
_SCHEDULE_KEY = {"annual": "annual", "quarterly": "quarterly", "new-accounts": "monthly"}
_MODE_ZH = {"annual": "年度评级", "quarterly": "季度评级", "new-accounts": "新开户评级"}


@dataclass(frozen=True)
class RunWindow:
    """一次评级的运行窗口：``days`` 为窗口内全部工作日，``first``/``last`` 为首末日。

    ``assumed_years``：交易日历未维护、按周一至周五推算的年份（``note_zh`` 说明），只在
    ``run_window(..., assume_weekdays=True)`` 时出现。"""

    first: date
    last: date
    days: tuple[date, ...]
    rule_text_zh: str
    assumed_years: tuple[int, ...] = ()
    note_zh: str = ""
    rulebook_ref: str = ""  # the rulebook version whose schedule this is
    clause: str = ""  # its clause, e.g. "第六条（二）3项"

    def covers(self, d: date) -> bool:
        """``d`` 是否在窗口的起止之间（含两端）：窗口第一个工作日之后、最后一个工作日之前的
        周末或节假日也在窗口内——那天运行既不算提前，也不算补跑。"""
        return self.first <= as_date(d) <= self.last


def window_spec(period: Period, rulebook: Any = DEFAULT_WINDOW_RULEBOOK) -> tuple[str, Any]:
    """``(rulebook id@version, WindowSpec)``：规则在 ``period`` 截止日生效的版本为该模式规定的
    运行窗口（规则文件的 ``[schedule]``，附条款）。``rulebook``：规则编号、规则文件
    （``RulebookFile``）或规则（``Rulebook``）。制度没有规定时抛出 ``RuleInputError``（kind
    ``na``）。"""
    if isinstance(rulebook, str):
        from .registry import version_in_force  # (registry imports the engine: only when used)

        data, _ = version_in_force(rulebook, period.end)
    else:
        data = getattr(rulebook, "data", rulebook)
    ref = f"{data.id}@{data.version}"
    spec = getattr(data.schedule, _SCHEDULE_KEY[period.mode], None) if data.schedule else None
    if spec is None:
        raise RuleInputError(
            f"规则 {ref}（{data.source.document}）没有规定{_MODE_ZH[period.mode]}的运行时间，"
            "无法给出运行窗口", field="规则", value=ref, kind="na")
    return ref, spec


def _first_working_days(start: date, end: date, n: int,
                        assume_weekdays: bool) -> tuple[list[date], set[int]]:
    cal = trading_calendar()
    out: list[date] = []
    assumed: set[int] = set()
    d = start
    while d <= end and len(out) < n:
        if assume_weekdays and d.year >= FIRST_CALENDAR_YEAR and d.year not in cal.covered_years:
            assumed.add(d.year)
            working = d.weekday() < 5
        else:
            working = cal.is_working_day(d)  # (outside the calendar: RuleInputError)
        if working:
            out.append(d)
        d += timedelta(days=1)
    return out, assumed


def run_window(period: Period, rulebook: Any = DEFAULT_WINDOW_RULEBOOK, *,
               assume_weekdays: bool = False) -> RunWindow:
    """周期 ``period`` 的评级运行窗口：规则 ``rulebook``（默认 brokerage）在该周期截止日生效的版本
    所规定的、截止日之后的前 N 个上交所工作日（N 与条款见规则文件的 ``[schedule]``）。

    brokerage（种子 000 第六条（二））：年度 10、季度 3、新开户 3 个工作日；private-fund（种子
    001 第十条）：年度 10、季度 3、新开户 5 个工作日。例：季度 2026Q3 → 2026 年 10 月前三个工作日
    （10 月 1–7 日国庆休市，故为 10-08、10-09、10-12）。

    交易日历没有维护的年份：默认抛出 ``RuleInputError``；``assume_weekdays=True`` 时按周一至周五
    推算，并在 ``assumed_years``/``note_zh`` 中说明（Excel 函数与评级运行用它：给出带提示的窗口，
    而不是错误）。
    """
    if not isinstance(period, Period):
        raise RuleInputError(f"{show(period)} 不是评级周期（请先用 parse_period 解析）",
                             field="评级周期", value=period)
    ref, spec = window_spec(period, rulebook)
    n = spec.days
    nxt = period.end + timedelta(days=1)
    days, assumed = _first_working_days(nxt, month_end(nxt.year, nxt.month), n, assume_weekdays)
    if not days:  # (no month has no working day; a firm calendar file could say so)
        raise RuleInputError(f"{nxt:%Y 年 %m 月}没有工作日，无法给出 {period.label} 的运行窗口",
                             field="评级周期", value=period.label)
    text = (f"{_MODE_ZH[period.mode]}（{ref}，{spec.source}）：{period.label}（数据截至 "
            f"{period.end.isoformat()}）的运行窗口为 {days[0].isoformat()} 至 "
            f"{days[-1].isoformat()}（{len(days)} 个上交所工作日）。")
    note = ""
    if assumed:
        years = "、".join(str(y) for y in sorted(assumed))
        note = (f"交易日历未维护 {years} 年的休市安排，窗口按周一至周五推算，未扣除法定节假日"
                f"（请在 rules/data/extra_holidays.toml 补录 {years} 年休市日或升级 "
                "exchange-calendars）")
    return RunWindow(days[0], days[-1], tuple(days), text, tuple(sorted(assumed)), note, ref,
                     spec.source.partition("：")[0])


def in_window(period: Period, d: date, rulebook: Any = DEFAULT_WINDOW_RULEBOOK) -> bool:
    """``d`` 是否为 ``period`` 运行窗口内的工作日（规则 ``rulebook`` 的窗口）。"""
    return as_date(d) in run_window(period, rulebook).days
