"""The final report of a delivery job: its headline says how it went, and it lists only the
problems that happened."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.i18n import Translator
from bot.progress import report_text
from models.outbox import CANCELLED, FAILED, SENT, UNCERTAIN, UNREACHABLE, DeliveryJob

T = Translator("vi", ZoneInfo("Asia/Ho_Chi_Minh"))
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def job(total: int, *, cancelled: bool = False) -> DeliveryJob:
    return DeliveryJob(
        kind="broadcast",
        title="Thông báo số 2",
        total=total,
        start_at=NOW,
        created_at=NOW,
        cancelled_at=NOW if cancelled else None,
    )


def test_mostly_failed_is_a_warning() -> None:
    text = report_text(T, job(297), {SENT: 43, FAILED: 254})
    assert text.startswith("⚠️"), text
    assert "✔" not in text
    assert "43/297 đã nhận — 254 lỗi" in text, text
    assert "0 " not in text  # nothing said about problems that did not happen


def test_all_delivered_is_a_tick_without_zero_counts() -> None:
    text = report_text(T, job(297), {SENT: 297})
    assert text.startswith("✔") and "đã gửi xong" in text and "297/297 đã nhận" in text
    assert "lỗi" not in text and "không liên lạc được" not in text and "chưa chắc" not in text


def test_only_the_problems_that_happened_are_listed() -> None:
    text = report_text(T, job(40), {SENT: 37, UNREACHABLE: 1, FAILED: 1, UNCERTAIN: 1})
    assert text.startswith("⚠️")
    assert "37/40 đã nhận — 1 không liên lạc được" in text and "1 lỗi" in text
    assert "1 chưa chắc đã nhận" in text
    text = report_text(T, job(40), {SENT: 39, UNREACHABLE: 1})
    assert "39/40 đã nhận — 1 không liên lạc được" in text and "lỗi" not in text


def test_stopped_job_says_what_was_not_sent() -> None:
    text = report_text(T, job(100, cancelled=True), {SENT: 60, CANCELLED: 40})
    assert text.startswith("⏹") and "60/100 đã nhận trước khi dừng — 40 không gửi" in text
    assert "lỗi" not in text
