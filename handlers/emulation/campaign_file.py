"""A campaign file: the IT person (or a board that prefers files) opens a year's campaign with
`congdoan thidua mo --file thidua-2027.toml` instead of the /thidua_mo dialog.

The file names the CĐCS, the year, the deadline and the titles (codes from the configured
catalogue, plus any new titles with their rules); targets are optional (default: the
catalogue's targets for the chosen titles). It is checked as strictly as the configuration.
"""

from __future__ import annotations

import tomllib
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from bot.config import Settings
from bot.settings_base import ConfigError, StrictModel
from handlers.emulation.settings import EmulationSection, TargetSpec, TitleSpec


class CampaignFile(StrictModel):
    unit: str = Field(min_length=2)
    year: int = Field(ge=2000, le=2100)
    deadline: date
    titles: list[str] = Field(min_length=1)
    new_titles: list[TitleSpec] = Field(default_factory=list)
    targets: list[TargetSpec] | None = None


def load(
    path: Path, settings: Settings, today: date
) -> tuple[CampaignFile, list[dict], list[dict]]:
    """The parsed file and the campaign's title and target snapshots; ConfigError names the
    key at fault."""
    try:
        raw: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path.name}: không đọc được ({exc})") from exc
    try:
        spec = CampaignFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path.name}: {where}: {first['msg']}") from exc
    catalogue = {t.code: t for t in [*settings.emulation.titles, *spec.new_titles]}
    unknown = [code for code in spec.titles if code not in catalogue]
    if unknown:
        raise ConfigError(
            f"{path.name}: titles: không có danh hiệu {', '.join(unknown)} trong danh mục "
            "(emulation.titles trong config.toml hoặc new_titles trong tệp này)"
        )
    chosen = [catalogue[code] for code in spec.titles]
    targets = (
        spec.targets
        if spec.targets is not None
        else [t for t in settings.emulation.targets if not t.title or t.title in spec.titles]
    )
    try:
        EmulationSection(titles=chosen, targets=targets).check()
    except ConfigError as exc:
        raise ConfigError(f"{path.name}: {str(exc).replace('emulation.', '')}") from exc
    if spec.deadline <= today:
        raise ConfigError(f"{path.name}: deadline: {spec.deadline:%d/%m/%Y} đã qua")
    if spec.deadline.year > spec.year:
        raise ConfigError(f"{path.name}: deadline: hạn đăng ký phải nằm trong năm {spec.year}")
    return spec, [t.model_dump() for t in chosen], [t.model_dump() for t in targets]


def deadline_at(spec: CampaignFile, settings: Settings) -> datetime:
    return datetime.combine(spec.deadline, time(23, 59), tzinfo=settings.tz)
