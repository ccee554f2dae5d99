"""Registration of the catalogue with xlwings: the one place in udfs/ that imports it."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import xlwings as xw

from rules.functions import catalogue

#: The Excel function wizard's category of every function.
CATEGORY = "客户分级"
#: Options of every argument: a range as a 2-D list; error cells as their text.
CELL = {"ndim": 2, "err_to_str": True}


def udf(name: str) -> Callable[..., Any]:
    """A fresh function that calls the catalogue's ``name``, with its signature and docstring
    (``__wrapped__``), registered with xlwings: xlwings' attributes land on it, not on the body."""
    body = getattr(catalogue, name)

    @functools.wraps(body)
    def call(*args: Any) -> Any:
        return body(*args)

    spec = catalogue.SPECS[name]
    f: Callable[..., Any] = call
    for arg, doc in reversed(spec.args):
        f = xw.arg(arg, doc=doc, **CELL)(f)
    return xw.func(category=CATEGORY, volatile=spec.volatile)(f)
