"""``CalcPort``'s application side without LibreOffice (a stand-in for the document's UNO
objects): progress goes to the frame's status indicator and ends with the run; a yes/no question
takes the queued answer, and with no window shown gets None ("no": the job is not rerun) —
the real boxes and the sheets are exercised in a running Calc by the other tests here."""

from __future__ import annotations

from typing import Any

import pytest

from addin.calc.port import CalcPort


class Indicator:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    def start(self, text: str, _range: int) -> None:
        self.log.append(f"start {text}")

    def setText(self, text: str) -> None:  # (UNO's spelling)
        self.log.append(text)

    def end(self) -> None:
        self.log.append("end")


class Window:
    def isVisible(self) -> bool:
        return False


class Frame:
    def __init__(self, log: list[str], *, status: bool = True) -> None:
        self.log, self.status = log, status

    def createStatusIndicator(self) -> Indicator:
        if not self.status:
            raise RuntimeError("no status bar")
        return Indicator(self.log)

    def getContainerWindow(self) -> Window:
        return Window()


class Doc:
    def __init__(self, *, status: bool = True) -> None:
        self.log: list[str] = []
        self.frame = Frame(self.log, status=status)
        self.auto = True

    def getURL(self) -> str:
        return ""

    def getTitle(self) -> str:
        return "分支.ods"

    def getCurrentController(self) -> Any:
        frame = self.frame
        return type("Controller", (), {"getFrame": lambda _self: frame})()

    def lockControllers(self) -> None:
        self.log.append("lock")

    def unlockControllers(self) -> None:
        self.log.append("unlock")

    def isAutomaticCalculationEnabled(self) -> bool:
        return self.auto

    def enableAutomaticCalculation(self, on: bool) -> None:
        self.auto = on
        self.log.append(f"auto {on}")


def test_progress_goes_to_the_status_bar_and_ends_with_the_run() -> None:
    doc = Doc()
    port = CalcPort(doc)
    port.pause()
    port.status("读取工作簿")
    port.status("写入变更记录")
    port.restore()
    assert doc.log == ["lock", "auto False", "start 客户分级…", "客户分级：读取工作簿…",
                       "客户分级：写入变更记录…", "auto True", "unlock", "end"]
    assert doc.auto is True
    port.restore()  # (twice: nothing more)
    assert doc.log[-1] == "end" and doc.log.count("unlock") == 1


def test_no_status_bar_is_no_error() -> None:
    doc = Doc(status=False)
    port = CalcPort(doc)
    port.status("读取工作簿")
    port.restore()
    assert doc.log == []


@pytest.mark.parametrize("queued, want", [(["yes"], "yes"), (["no"], "no"), ([], None)])
def test_a_question_takes_the_queued_answer_and_without_a_window_none(queued: list[str],
                                                                      want: str | None) -> None:
    port = CalcPort(Doc(), queued)
    assert port.alert("2026Q3 已执行过。是否强制重跑？", buttons="yes_no") == want
    assert port.alert("已完成。") is None  # (a message: kept, no box headless)
    assert port.messages == ["2026Q3 已执行过。是否强制重跑？", "已完成。"]
    assert port.path == "分支.ods"
