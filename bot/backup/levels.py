"""Which migration level a copy is at, compared with this code's."""

from __future__ import annotations

from dataclasses import dataclass

from alembic.script import ScriptDirectory
from alembic.util import CommandError

from bot.backup.errors import RestoreRefused
from models import db as database


@dataclass(frozen=True)
class Level:
    revision: str
    head: str

    @property
    def older(self) -> bool:
        """Older than the code: the migrations bring it up at the next start."""
        return self.revision != self.head


def check_level(revision: str | None, url: str) -> Level:
    """The copy's level if this code can run it (same or older); RestoreRefused if it was
    made by a newer version (its revision is unknown here) or has no revision at all."""
    script = ScriptDirectory.from_config(database.alembic_config(url))
    head = script.get_current_head()
    assert head is not None
    if revision is None:
        raise RestoreRefused(
            "Bản sao lưu không có phiên bản cơ sở dữ liệu (bảng alembic_version): "
            "không phải dữ liệu của congdoan."
        )
    try:
        known = script.get_revision(revision)
    except CommandError:
        known = None
    if known is None:
        raise RestoreRefused(
            f"Bản sao lưu ở phiên bản cơ sở dữ liệu {revision}, mới hơn phiên bản {head} của "
            "chương trình này: hãy cài phiên bản congdoan đã tạo ra bản sao lưu rồi khôi phục."
        )
    return Level(revision, head)
