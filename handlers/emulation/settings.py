"""The [emulation] section of config.toml: the titles (danh hiệu thi đua) on offer, the targets
(chỉ tiêu), the pledge reminders and the leaders' job titles. Owned by the emulation feature;
bot/config.py validates it with the rest of the file."""

from __future__ import annotations

from datetime import time
from typing import Literal

from pydantic import Field, field_validator

from bot.settings_base import ConfigError, StrictModel, clock_time


class ShareCap(StrictModel):
    of: str  # another title's code
    percent: float = Field(gt=0, le=100)


class TitleSpec(StrictModel):
    """An emulation title (danh hiệu thi đua) members or units can register for."""

    code: str = Field(min_length=2, max_length=16, pattern=r"^[A-Z0-9_]+$")
    name: str = Field(min_length=3, max_length=120)
    # How tables and buttons name it (LĐTT, GVN-ĐVN); empty: the full name.
    short: str = Field(default="", max_length=24)
    kind: Literal["individual", "collective"] = "individual"
    description: str = ""
    gender: Literal["nam", "nu"] | None = None
    min_months: int = Field(default=0, ge=0, le=120)  # since joining the union
    requires: list[str] = Field(default_factory=list)  # other titles pledged alongside
    # e.g. CSTĐCS: at most 15 % of those who reach LĐTT, applied when the board awards it at
    # the year-end review (at registration it is only shown)
    max_share: ShareCap | None = None


class TargetSpec(StrictModel):
    # The title it counts; empty only for non_leader_share (then: every individual title).
    title: str = ""
    # registered_share: % of (women) members who registered; reached_share: % who reached it
    # at the review; min_count: at least N people reached it at the review ("có ít nhất 05
    # chiến sĩ thi đua cơ sở"); non_leader_share: at least N % of the titles awarded at the
    # review went to members who are not leaders or managers (by job title, leader_titles).
    measure: Literal["registered_share", "reached_share", "min_count", "non_leader_share"]
    value: float = Field(gt=0)
    among: Literal["all", "women"] = "all"


DEFAULT_TITLES = [
    TitleSpec(
        code="LDTT",
        short="LĐTT",
        name="Lao động tiên tiến",
        min_months=10,
        description="hoàn thành tốt nhiệm vụ, chấp hành tốt chủ trương, pháp luật",
    ),
    TitleSpec(
        code="CSTDCS",
        short="CSTĐCS",
        name="Chiến sĩ thi đua cơ sở",
        requires=["LDTT"],
        max_share=ShareCap(of="LDTT", percent=15),
        min_months=10,
        description="đạt Lao động tiên tiến và có sáng kiến, giải pháp được công nhận",
    ),
    TitleSpec(
        code="DVXS",
        short="ĐVCĐ xuất sắc",
        name="Đoàn viên công đoàn xuất sắc",
        description="tích cực tham gia hoạt động công đoàn",
    ),
    TitleSpec(
        code="GVNDVN",
        short="GVN-ĐVN",
        name="Giỏi việc nước, đảm việc nhà",
        gender="nu",
        description="dành cho đoàn viên nữ",
    ),
    TitleSpec(
        code="LDGLDST",
        short="LĐG-LĐST",
        name="Lao động giỏi, lao động sáng tạo",
        description="năng suất cao, có cải tiến kỹ thuật",
    ),
    TitleSpec(
        code="TMGPVT",
        short="TMG-PVT",
        name="Tham mưu giỏi, phục vụ tốt",
        description="dành cho bộ phận tham mưu, phục vụ",
    ),
    TitleSpec(
        code="TCDVM",
        short="Tổ CĐ vững mạnh",
        name="Tổ công đoàn vững mạnh",
        kind="collective",
        description="danh hiệu tập thể của tổ công đoàn",
    ),
]
DEFAULT_TARGETS = [
    TargetSpec(title="LDTT", measure="reached_share", value=95),
    TargetSpec(title="DVXS", measure="reached_share", value=95),
    TargetSpec(title="GVNDVN", measure="registered_share", value=100, among="women"),
    TargetSpec(title="CSTDCS", measure="min_count", value=5),
]
# Job titles (chức vụ) of leaders and managers (cán bộ lãnh đạo, quản lý), for the
# non_leader_share target: a job title that begins with one of these, accents and case aside
# ("Phó Trưởng phòng Kế hoạch" begins with "Phó Trưởng phòng").
DEFAULT_LEADER_TITLES = [
    "Giám đốc",
    "Phó Giám đốc",
    "Tổng Giám đốc",
    "Phó Tổng Giám đốc",
    "Chủ tịch",
    "Phó Chủ tịch",
    "Chánh Văn phòng",
    "Phó Chánh Văn phòng",
    "Chánh Thanh tra",
    "Phó Chánh Thanh tra",
    "Trưởng phòng",
    "Phó Trưởng phòng",
    "Phó phòng",
    "Trưởng ban",
    "Phó Trưởng ban",
    "Trưởng khoa",
    "Phó Trưởng khoa",
    "Chi cục trưởng",
    "Phó Chi cục trưởng",
    "Hiệu trưởng",
    "Phó Hiệu trưởng",
    "Thủ trưởng",
    "Kế toán trưởng",
    "Quản đốc",
    "Phó Quản đốc",
]


# Each title is a button of its own in /thidua, /thidua_mo and /thidua_sua (Telegram refuses a
# keyboard of more than 100 buttons, and the edit menu lists a campaign's and the config's).
MAX_TITLES = 20


class EmulationSection(StrictModel):
    titles: list[TitleSpec] = Field(default_factory=lambda: list(DEFAULT_TITLES))
    targets: list[TargetSpec] = Field(default_factory=lambda: list(DEFAULT_TARGETS))
    # Reminders to those who have not registered, this many days before the deadline, sent
    # at this local time (office hours, not at the deadline's 23:59).
    reminder_days: list[int] = Field(default_factory=lambda: [7, 1])
    reminder_time: time = time(8, 0)
    leader_titles: list[str] = Field(default_factory=lambda: list(DEFAULT_LEADER_TITLES))

    @field_validator("reminder_days")
    @classmethod
    def _reminder_days(cls, values: list[int]) -> list[int]:
        if any(not 0 <= v <= 366 for v in values):
            raise ValueError("số ngày trước hạn chót phải từ 0 đến 366")
        return values

    @field_validator("reminder_time", mode="before")
    @classmethod
    def _reminder_time(cls, value: object) -> object:
        return clock_time(value)

    def check(self) -> None:
        if len(self.titles) > MAX_TITLES:
            raise ConfigError(
                f"emulation.titles: tối đa {MAX_TITLES} danh hiệu, đang có {len(self.titles)}"
            )
        codes = [t.code for t in self.titles]
        for index, title in enumerate(self.titles):
            if codes.count(title.code) > 1:
                raise ConfigError(f"emulation.titles[{index}].code: '{title.code}' bị trùng")
            for other in [*title.requires, *([title.max_share.of] if title.max_share else [])]:
                if other not in codes:
                    raise ConfigError(
                        f"emulation.titles[{index}]: danh hiệu '{title.code}' "
                        f"tham chiếu '{other}' không có trong danh mục"
                    )
        for index, target in enumerate(self.targets):
            if not target.title and target.measure != "non_leader_share":
                raise ConfigError(
                    f"emulation.targets[{index}].title: cần mã danh hiệu của chỉ tiêu "
                    "(chỉ chỉ tiêu non_leader_share được để trống: tính mọi danh hiệu cá nhân)"
                )
            if target.title and target.title not in codes:
                raise ConfigError(
                    f"emulation.targets[{index}].title: không có danh hiệu "
                    f"'{target.title}' trong emulation.titles"
                )
            if target.measure != "min_count" and target.value > 100:
                raise ConfigError(f"emulation.targets[{index}].value: tỷ lệ tối đa là 100")
