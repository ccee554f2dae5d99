"""Cells and ranges: the one wrapper that makes a scalar function array-aware, and the one place
that turns exceptions into the ``#VALUE! …`` / ``#N/A …`` texts a cell shows.

xlwings hands an argument declared ``ndim=2`` as a 2-D list (a single cell or a literal becomes
``[[v]]``); a missing optional argument arrives as its Python default. The wrapper broadcasts all
arguments against each other (a 1×1 argument, like a rulebook name, repeats over a column; a 1×n
row against an n×1 column is refused, unlike numpy, because that is almost always a mistake), calls
the function once per cell — or a vectorised function once for the whole range — and returns a
scalar when every argument was a single cell, else a 2-D list of the broadcast shape.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np

from rules.errors import RuleError, RuleInputError
from rules.gcpause import no_gc

logger = logging.getLogger("udfs")

#: Classic (VBA) UDFs show #VALUE! for strings longer than this (xlwings issue #456).
MAX_TEXT = 255

Grid = Sequence[Sequence[Any]]


def fit(text: str) -> str:
    """A text that fits into a cell returned by a classic UDF (≤ 255 characters)."""
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def error_text(e: BaseException) -> str:
    """The cell text for an exception: ``#VALUE! <原因>`` or ``#N/A <原因>``; never a traceback."""
    if isinstance(e, RuleInputError):
        prefix = "#N/A" if e.kind == "na" else "#VALUE!"
        return fit(f"{prefix} {e.message}")
    if isinstance(e, RuleError):  # RulebookError, ParameterMissingError: no usable rulebook
        return fit(f"#N/A {e}")
    logger.error("udfs: unexpected %s", type(e).__name__, exc_info=e)
    return fit(f"#VALUE! 内部错误：{type(e).__name__}（详见日志）")


def safe(f: Callable[..., Any], *args: Any) -> Any:
    """``f(*args)`` as a cell value: texts cut to 255 characters, exceptions as error texts."""
    try:
        r = f(*args)
    except Exception as e:
        return error_text(e)
    if isinstance(r, str):
        return fit(r)
    if isinstance(r, np.generic):
        return r.item()
    return r


def as_grid(v: Any) -> Grid:
    """An argument as a 2-D grid: 2-D lists as they are, 1-D lists as a column, scalars 1×1."""
    if isinstance(v, np.ndarray):
        if v.ndim == 0:
            return [[v.item()]]
        return cast(Grid, v.reshape(-1, 1) if v.ndim == 1 else v)
    if isinstance(v, list | tuple):
        if not v:
            return [[None]]
        if isinstance(v[0], list | tuple):
            return v
        return [[x] for x in v]
    return [[v]]


def grid_shape(g: Grid) -> tuple[int, int]:
    if isinstance(g, np.ndarray):
        return g.shape[0], g.shape[1]
    return len(g), (len(g[0]) if len(g) else 0)


class ShapeError(RuleInputError):
    pass


def broadcast_shape(grids: Sequence[Grid], names: Sequence[str]) -> tuple[int, int]:
    shapes = [grid_shape(g) for g in grids]
    for g, (_r, c) in zip(grids, shapes, strict=True):
        if not isinstance(g, np.ndarray) and len(g) > 1 and set(map(len, g)) != {c}:
            raise ShapeError("参数区域的各行长度不一致")
    rows = max(s[0] for s in shapes)
    cols = max(s[1] for s in shapes)
    for name, (r, c) in zip(names, shapes, strict=True):
        if r not in (1, rows) or c not in (1, cols):
            raise ShapeError(f"参数 {name} 的区域为 {r}×{c}，与其他参数（{rows}×{cols}）大小不一致")
    if rows > 1 and cols > 1 and (rows, cols) not in shapes:
        raise ShapeError(f"参数区域大小不一致：一行与一列不能组合成 {rows}×{cols} 的结果")
    return rows, cols


def flat(g: Grid, shape: tuple[int, int]) -> list[Any]:
    """The cells of ``g`` broadcast to ``shape``, row by row."""
    rows, cols = shape
    r, c = grid_shape(g)
    if isinstance(g, np.ndarray):
        return np.broadcast_to(g, shape).ravel().tolist()
    if (r, c) == (1, 1):
        return [g[0][0]] * (rows * cols)
    if c == 1 and cols == 1:
        return [row[0] for row in g]
    if r == 1:
        return list(g[0]) * rows
    if c == 1:
        return [row[0] for row in g for _ in range(cols)]
    return [v for row in g for v in row]


_NOT_ONE = object()  # (an argument that is not a single cell)


def one_cell(v: Any) -> Any:
    """The value of an argument that is a single cell (a scalar, ``[[v]]``, ``[v]``; ``[]`` is
    an empty cell), else ``_NOT_ONE``: the shapes :func:`as_grid` makes 1×1, read without
    building the grid. Arrays go the general way."""
    if isinstance(v, list | tuple):
        if len(v) != 1:
            return None if not v else _NOT_ONE
        row = v[0]
        if isinstance(row, list | tuple):
            return row[0] if len(row) == 1 else _NOT_ONE
        return row
    if isinstance(v, np.ndarray):
        return _NOT_ONE
    return v


def cells(vector: Callable[..., Any] | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Make a scalar cell function range-aware (see module doc).

    ``vector(shape, *grids)`` (optional) computes a whole range at once and returns a 2-D list;
    if it fails unexpectedly the cells are computed one by one.

    The arguments are bound once per function, not per call: the signature gives the number of
    required arguments and the defaults of the others (positional only, as xlwings calls). A
    call whose arguments are all single cells goes straight to ``safe(f, *values)`` — what the
    broadcast of 1×1 grids gives, without making them (tests/udfs/test_udfs_fastpath.py checks
    the two paths agree for every function).
    """

    def deco(f: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(f)
        names = list(sig.parameters)
        params = list(sig.parameters.values())
        positional = all(p.kind is p.POSITIONAL_OR_KEYWORD for p in params)
        defaults = tuple(p.default for p in params)
        n_required = sum(p.default is p.empty for p in params)
        n_max = len(params) if positional else -1

        @functools.wraps(f)
        def wrapper(*args: Any) -> Any:
            n = len(args)
            if n_required <= n <= n_max:
                values = args + defaults[n:] if n < n_max else args
                scalars = []
                for v in values:
                    x = one_cell(v)
                    if x is _NOT_ONE:
                        return general(values)
                    scalars.append(x)
                return safe(f, *scalars)
            try:
                bound = sig.bind(*args)
            except TypeError as e:
                return error_text(RuleInputError(f"参数个数不对：{e}"))
            bound.apply_defaults()
            return general([bound.arguments[n] for n in names])

        def general(values: Sequence[Any]) -> Any:
            return call_ranges(f, vector, names, values)

        wrapper.general = general  # type: ignore[attr-defined]  # (the tests' reference path)
        return wrapper

    return deco


def call_ranges(f: Callable[..., Any], vector: Callable[..., Any] | None, names: Sequence[str],
                values: Sequence[Any]) -> Any:
    """``f`` over its arguments as ranges: broadcast them, then ``vector`` over the whole range
    (cell by cell if it fails unexpectedly, or without ``vector``); a 1×1 broadcast is one
    call of ``f``."""
    grids = [as_grid(v) for v in values]
    try:
        shape = broadcast_shape(grids, names)
    except RuleInputError as e:
        return error_text(e)
    if shape == (1, 1):
        return safe(f, *[g[0][0] for g in grids])
    with no_gc():
        if vector is not None:
            try:
                return vector(shape, *grids)
            except Exception as e:
                logger.error("udfs: vectorised %s failed, computing cell by cell",
                             f.__name__, exc_info=e)
        columns = [flat(g, shape) for g in grids]
        out = [safe(f, *row) for row in zip(*columns, strict=True)]
        cols = shape[1]
        return [out[i:i + cols] for i in range(0, len(out), cols)]
