"""Put the project and its Python environment on LibreOffice Python's ``sys.path``.

Read from ``env.json`` at the extension's root (written by ``client-rating calc install``):
``paths`` (the project's folder, first), ``site_packages`` (its environment's, with their .pth
files: an editable install is found), ``python`` (the version the environment was made for),
``environ`` (CLIENT_RATING_PARAMS / CLIENT_RATING_RULES_DIR as set at install time).
Used by the add-in component and by the button macros; ``activate`` gives None when the
project can be imported, else the reason (Chinese) to show.
"""

import json
import os
import site
import sys

_done: dict[str, str | None] = {}


def activate(root):
    if root in _done:
        return _done[root]
    _done[root] = problem = _activate(root)
    return problem


def _activate(root):
    try:
        with open(os.path.join(root, "env.json"), encoding="utf-8") as f:
            env = json.load(f)
    except OSError as e:
        return f"扩展中没有 env.json（{e}）：请用 client-rating calc install 安装"
    want = env.get("python", "")
    have = f"{sys.version_info.major}.{sys.version_info.minor}"
    if want and want != have:
        return (f"项目环境的 Python 为 {want}，LibreOffice 的 Python 为 {have}：无法加载；"
                f"请在 Python {have} 的环境中安装 client-rating 后重新运行 client-rating calc install")
    missing = [p for p in env.get("paths", []) + env.get("site_packages", [])
               if not os.path.isdir(p)]
    if missing:
        return f"找不到客户分级的 Python 环境：{'、'.join(missing)} 不存在；请重新运行 client-rating calc install"
    before = list(sys.path)
    for d in env.get("site_packages", []):
        site.addsitedir(d)
    added = [p for p in sys.path if p not in before]
    paths = list(env.get("paths", []))
    sys.path[:] = paths + added + [p for p in before if p not in paths]
    for k, v in env.get("environ", {}).items():
        os.environ.setdefault(k, v)
    try:
        import addin.calc.functions  # noqa: F401
    except Exception as e:
        return f"无法加载客户分级（{type(e).__name__}: {e}）；请重新运行 client-rating calc install"
    return None
