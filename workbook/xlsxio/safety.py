"""Checks done before a workbook is read or written: Excel lock file, zip bombs, DTDs."""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

from .errors import UnsafeWorkbookError, WorkbookLockedError, XlsxError

#: Total uncompressed size of all entries. A branch of 1,000,000 clients is about 2 GB once
#: rated (客户 ~0.95 GB, 变更记录 ~1.1 GB after the first run, +~55 MB a quarter); parts are
#: streamed, so the limit bounds work, not memory.
MAX_TOTAL_SIZE = 6 * 1024**3
#: Uncompressed size of one entry (the zip writer stops at 4 GB, no zip64).
MAX_ENTRY_SIZE = 3 * 1024**3
#: Number of zip entries.
MAX_ENTRIES = 10_000
#: An entry bigger than this with a compression ratio above MAX_RATIO is refused.
RATIO_MIN_SIZE = 10 * 1024**2
MAX_RATIO = 200.0

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def lock_file_for(path: str | os.PathLike[str]) -> Path | None:
    """The Excel/Office owner file ("~$" lock file) of ``path`` if one exists, else None.

    Excel names it ``~$`` + the file name; Word-style owner files replace the first two
    characters of long names by ``~$``. Both forms are checked.
    """
    p = Path(path)
    name = p.name
    candidates = ["~$" + name]
    if len(name) > 2:
        candidates.append("~$" + name[2:])
    for cand in candidates:
        lock = p.with_name(cand)
        if lock.exists():
            return lock
    return None


def check_not_locked(path: str | os.PathLike[str]) -> None:
    lock = lock_file_for(path)
    if lock is not None:
        raise WorkbookLockedError(
            f"文件已在 Excel 中打开（发现锁文件 {lock.name}），请先关闭后再运行。"
            "如果 Excel 已关闭，请删除该锁文件后重试。"
        )


def open_zip(path: str | os.PathLike[str]) -> zipfile.ZipFile:
    p = Path(path)
    if not p.is_file():
        raise UnsafeWorkbookError(f"找不到工作簿文件：{p}")
    with open(p, "rb") as fh:
        head = fh.read(8)
    if head == _OLE_MAGIC:
        raise UnsafeWorkbookError(
            f"{p.name} 是加密（设置了打开密码）或旧版 .xls 格式的文件，无法处理；"
            "请在 Excel 中去掉打开密码或另存为 .xlsx/.xlsm 后重试。"
        )
    try:
        return zipfile.ZipFile(p)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnsafeWorkbookError(
            f"{p.name} 不是有效的 Excel 工作簿（.xlsx/.xlsm），文件可能已损坏。"
        ) from exc


def check_zip(
    zf: zipfile.ZipFile,
    *,
    max_total: int = MAX_TOTAL_SIZE,
    max_entry: int = MAX_ENTRY_SIZE,
    max_entries: int = MAX_ENTRIES,
    max_ratio: float = MAX_RATIO,
    ratio_min_size: int = RATIO_MIN_SIZE,
) -> None:
    """Size checks from the central directory only (nothing is decompressed)."""
    infos = zf.infolist()
    name = Path(zf.filename or "工作簿").name
    if len(infos) > max_entries:
        raise UnsafeWorkbookError(f"{name} 包含的内部文件过多（{len(infos)} 个），拒绝处理。")
    total = 0
    seen: set[str] = set()
    for info in infos:
        if info.filename in seen:
            raise UnsafeWorkbookError(f"{name} 内部有重名的条目 {info.filename}，文件可能被篡改。")
        seen.add(info.filename)
        if not _plain_entry_name(info.filename):
            raise UnsafeWorkbookError(
                f"{name} 内部条目名称异常（{info.filename}），文件可能被篡改，拒绝处理。")
        if info.flag_bits & 0x1:
            raise UnsafeWorkbookError(f"{name} 的内部条目已加密，无法处理。")
        size = info.file_size
        total += size
        if size > max_entry:
            raise UnsafeWorkbookError(
                f"{name} 中的 {info.filename} 解压后过大（{size / 1024**2:.0f} MB），拒绝处理。"
            )
        if size >= ratio_min_size and size > max_ratio * max(info.compress_size, 1):
            raise UnsafeWorkbookError(
                f"{name} 中的 {info.filename} 压缩比异常（疑似“压缩炸弹”），拒绝处理。"
            )
    if total > max_total:
        raise UnsafeWorkbookError(
            f"{name} 解压后总大小过大（{total / 1024**2:.0f} MB），拒绝处理。"
        )
    if "[Content_Types].xml" not in seen:
        raise UnsafeWorkbookError(f"{name} 不是有效的 Excel 工作簿（缺少 [Content_Types].xml）。")


def _plain_entry_name(n: str) -> bool:
    """A zip entry name that stays inside the package: relative, '/'-separated, no '..'
    (part names of Open Packaging Conventions; we never extract, but we copy entries on)."""
    return bool(n) and not n.startswith("/") and "\\" not in n and ".." not in n.split("/")


def check_writable(path: str | os.PathLike[str]) -> None:
    """Refuse to replace a read-only file (renaming over it would succeed on Linux, while the
    user marked it read-only) or something that is not a regular file."""
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeWorkbookError(f"{p.name} 不是普通文件（是文件夹或设备），未写入。")
    if not st.st_mode & stat.S_IWUSR:
        raise XlsxError(f"{p.name} 是只读文件，未写入：请取消文件的“只读”属性后重试。")


def check_safe(path: str | os.PathLike[str], **limits: float) -> None:
    """Refuse files that are not zips, too big once decompressed, or look like zip bombs.

    Uses only ``ZipInfo.file_size``/``compress_size``: nothing is decompressed.
    Keyword ``limits``: max_total, max_entry, max_entries, max_ratio, ratio_min_size.
    """
    with open_zip(path) as zf:
        check_zip(zf, **limits)  # type: ignore[arg-type]


def check_xml_prolog(head: bytes, part: str) -> None:
    """Refuse a DTD (and so any entity declaration) in the prolog of an XML part.

    A DOCTYPE may only appear before the root element, so the bytes before the first
    element tag are enough.
    """
    i = 0
    n = len(head)
    while True:
        j = head.find(b"<", i)
        if j < 0 or j + 1 >= n:
            break
        nxt = head[j + 1 : j + 2]
        if nxt == b"?":  # processing instruction / XML declaration
            k = head.find(b"?>", j)
            if k < 0:
                break
            i = k + 2
            continue
        if nxt == b"!":
            if head.startswith(b"<!--", j):
                k = head.find(b"-->", j)
                if k < 0:
                    break
                i = k + 3
                continue
            raise UnsafeWorkbookError(
                f"工作簿内部文件 {part} 含有 DTD/实体声明（可能是恶意文件），拒绝处理。"
            )
        return
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise UnsafeWorkbookError(
            f"工作簿内部文件 {part} 含有 DTD/实体声明（可能是恶意文件），拒绝处理。"
        )
