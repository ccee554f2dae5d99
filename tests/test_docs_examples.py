"""What the docs tell a user to type matches the product (issue 17, friction)."""

from __future__ import annotations

import re
from pathlib import Path

from openpyxl.utils import get_column_letter

from workbook.template import CLIENT_HEADERS

DOCS = Path(__file__).parents[1] / "docs"


def test_the_first_client_tier_example_points_at_the_templates_columns() -> None:
    text = (DOCS / "functions.md").read_text(encoding="utf-8")
    m = re.search(r"\n\d\. Type `=CLIENT_TIER\((\w+)2, (\w+)2\)`", text)  # the install steps
    assert m is not None
    a, c = m.groups()
    step = text[m.start():]
    col = {h: get_column_letter(k + 1) for k, h in enumerate(CLIENT_HEADERS)}
    assert (a, c) == (col["资产权益"], col["上年度净佣金"])
    assert f"资产权益 is column **{a}** and 上年度净佣金 column **{c}**" in step


def test_windows_command_blocks_have_single_backslashes() -> None:
    for page in DOCS.glob("*.md"):
        for block in re.findall(r"```bat\n(.*?)```", page.read_text(encoding="utf-8"), re.S):
            assert "\\\\" not in block, (page.name, block)
