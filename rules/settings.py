"""The settings the rule look-ups depend on, as one snapshot with a memo of what was looked up.

A rulebook in force depends on the firm directories (``CLIENT_RATING_RULES_DIR``), the firm
parameter file (``CLIENT_RATING_PARAMS``), the files in them and in ``rules/data/``, and the date.
:func:`snapshot` gives the :class:`Snapshot` of these; the registry (rulebooks), the
suitability regimes and the Excel functions keep what they looked up in its ``memo``, so that a
cell's call finds its rulebook with one dictionary look-up instead of reading the environment,
building paths and hashing them each time.

When the memo is given up:

- an environment variable or the date differs from the snapshot's (checked on every call: the
  variables' raw values and the clock against the snapshot's midnight);
- a file changed: the stat (size, time, inode) of every rulebook, regime and parameter file is
  compared with the snapshot's at most once every :data:`CHECK_SECONDS` — a file edited while
  Excel is open takes effect at the next recalculation that comes at least that long after the
  previous look at the files (a person who saves a file and recalculates is slower than that).
  Then the parsed files of the registry and the regimes are dropped as well
  (:func:`on_file_change`), and read again.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

RULES_DIR_ENV = "CLIENT_RATING_RULES_DIR"
PARAMS_ENV = "CLIENT_RATING_PARAMS"
DATA_DIR = Path(__file__).parent / "data"
#: Seconds between two looks at the files' stat (a look costs some tens of µs).
CHECK_SECONDS = 1.0
#: Entries a memo keeps (a range with a different threshold in every cell must not keep a
#: rulebook per cell): beyond that the memo starts again.
MEMO_LIMIT = 4096

clock: Callable[[], float] = time.monotonic

Stamp = tuple[Any, ...]


class Snapshot:
    """The environment, date and file stamps of one state of the settings, and its ``memo``."""

    __slots__ = ("checked", "day_ends", "env", "firm_dirs", "memo", "params", "rules_dir",
                 "stamp", "today")

    def __init__(self, env: tuple[Any, Any], today: dt.date, stamp: Stamp, now: float) -> None:
        self.env = env  # (as :func:`_raw_env` reads them)
        self.rules_dir = os.environ.get(RULES_DIR_ENV, "")
        self.params = os.environ.get(PARAMS_ENV, "")
        self.today = today
        #: the time (``time.time()``) at which ``today`` ends: the next local midnight
        self.day_ends = dt.datetime.combine(today + dt.timedelta(days=1), dt.time()).timestamp()
        self.stamp = stamp
        self.checked = now
        #: the firm's directories, in the order given (the shipped ones come after them)
        self.firm_dirs = tuple(firm_dirs(self.rules_dir))
        #: key -> what was looked up under these settings (keys start with their kind)
        self.memo: dict[Any, Any] = {}

    def remember(self, key: Any, value: Any) -> Any:
        if len(self.memo) >= MEMO_LIMIT:
            self.memo.clear()
        self.memo[key] = value
        return value

    def recall(self, key: Any, make: Callable[..., T], *args: Any) -> T:
        """``memo[key]``, made by ``make(*args)`` and kept the first time (``key`` None: made,
        not kept; an error raised by ``make`` is not kept either)."""
        if key is None:
            return make(*args)
        got = self.memo.get(key)
        return got if got is not None else self.remember(key, make(*args))


_current: Snapshot | None = None
_seen: dict[tuple[str, str], Stamp] = {}
_clearers: list[Callable[[], None]] = []

# ``os.environ.get`` of an unset variable raises and catches a KeyError inside (about 1–2 µs, the
# largest part of a cell's look-up): the two variables are read from the mapping's own dict,
# with its own key encoding, where CPython has them (POSIX and Windows); else as usual.
_ENV_DICT = getattr(os.environ, "_data", None)
_encode = getattr(os.environ, "encodekey", None)
if isinstance(_ENV_DICT, dict) and callable(_encode):
    _KEYS = (_encode(RULES_DIR_ENV), _encode(PARAMS_ENV))

    def _raw_env() -> tuple[Any, Any]:
        get = _ENV_DICT.get  # type: ignore[union-attr]
        return get(_KEYS[0]), get(_KEYS[1])
else:  # pragma: no cover - another Python's os.environ

    def _raw_env() -> tuple[Any, Any]:
        return os.environ.get(RULES_DIR_ENV), os.environ.get(PARAMS_ENV)


def firm_dirs(rules_dir: str) -> list[Path]:
    return [Path(p) for p in rules_dir.split(os.pathsep) if p]


def on_file_change(clear: Callable[[], None]) -> Callable[[], None]:
    """Register ``clear`` (e.g. a ``functools.cache``'s ``cache_clear``) to be called when a
    settings file changed."""
    _clearers.append(clear)
    return clear


def snapshot() -> Snapshot:
    """The settings in force now (see the module doc for when they are looked at again)."""
    global _current
    env = _raw_env()
    now = clock()
    s = _current
    if s is not None and s.env == env and time.time() < s.day_ends:
        if now - s.checked < CHECK_SECONDS:
            return s
        s.checked = now
        if s.today == dt.date.today() and stamp(s.rules_dir, s.params) == s.stamp:
            return s
    rules_dir = os.environ.get(RULES_DIR_ENV, "")
    params = os.environ.get(PARAMS_ENV, "")
    new = stamp(rules_dir, params)
    before = _seen.get((rules_dir, params))
    if before is not None and before != new:
        for clear in _clearers:
            clear()
    _seen[(rules_dir, params)] = new
    _current = Snapshot(env, dt.date.today(), new, now)
    return _current


def stamp(rules_dir: str, params: str) -> Stamp:
    """What identifies the content of the settings files: (path, size, mtime, inode) of every
    ``<dir>/<id>/*.toml`` of the rulebook and regime directories, and of the parameter file."""
    roots = [*firm_dirs(rules_dir), DATA_DIR / "rulebooks"]
    roots += [p / "suitability" for p in firm_dirs(rules_dir)] + [DATA_DIR / "suitability"]
    files: list[tuple[str, int, int, int]] = []
    for root in roots:
        try:
            folders = [e.path for e in os.scandir(root) if e.is_dir()]
        except OSError:
            continue
        for folder in folders:
            try:
                entries = [e for e in os.scandir(folder) if e.name.endswith(".toml")]
            except OSError:
                continue
            for e in entries:
                files.append(_stat(e.path))
    files.sort()
    return (tuple(files), _stat(params) if params else None)


def _stat(path: str) -> tuple[str, int, int, int]:
    try:
        st = os.stat(path)
    except OSError:
        return (path, -1, -1, -1)
    return (path, st.st_size, st.st_mtime_ns, st.st_ino)
