"""The console command's one guard: every product error (:class:`rules.errors.ClientRatingError`
and its subclasses: rules, workbook, file layer) and every file-system error becomes one Chinese
line on stderr and an exit status, never a traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable

from rules.errors import ClientRatingError


def guard(fn: Callable[[], int], status: int,
          also: tuple[type[Exception], ...] = ()) -> int:
    """``fn()``, or ``status`` after one line ``错误：…`` on stderr for a product error, a file
    error, or one of ``also`` (errors a command's own input checks raise)."""
    try:
        return fn()
    except ClientRatingError as e:
        print(f"错误：{e}", file=sys.stderr)
    except FileNotFoundError as e:
        print(f"错误：找不到文件 {e.filename}", file=sys.stderr)
    except PermissionError as e:
        print(f"错误：没有权限读写 {e.filename}（文件是否被占用或只读？）", file=sys.stderr)
    except IsADirectoryError as e:
        print(f"错误：{e.filename} 是文件夹，不是工作簿", file=sys.stderr)
    except OSError as e:
        print(f"错误：读写文件失败：{e.strerror or e}（{e.filename or ''}）", file=sys.stderr)
    except also as e:
        print(f"错误：{e}", file=sys.stderr)
    return status
