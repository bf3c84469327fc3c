"""Members' names as sortable text (models/names.py vi_sort_text): the same order as
vi_sort_key, and migration 0016 fills it in for the members already there."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from models.db import alembic_config, sync_url, upgrade
from models.names import vi_sort_key, vi_sort_text
from tests.databases import database_url

NAMES = [
    "Phạm Văn An",
    "Nguyễn Thị Ánh",
    "Trần Văn Bảo",
    "Lê Văn Bình",
    "Hoàng Văn Dũng",
    "Đỗ Minh Đức",
    "Lý Á",
    "Lý À",
    "Lý Ả",
    "Lý Ã",
    "Lý Ạ",
    "Lý A",
    "Nguyễn Lan",
    "Lan",
    "Zoë Müller",
    "Nguyễn Văn Thử 12",
    "Nguyễn Văn Thử 1",
    "中村 Ân",
]


def test_sort_text_orders_as_the_vietnamese_key() -> None:
    by_key = sorted(NAMES, key=vi_sort_key)
    assert sorted(NAMES, key=vi_sort_text) == by_key
    assert set("".join(vi_sort_text(n) for n in NAMES)) <= set("0123456789abcdef")


def test_the_migration_fills_in_existing_members(tmp_path: Path) -> None:
    url = database_url(tmp_path)
    upgrade(url)
    config = alembic_config(url)
    before = ScriptDirectory.from_config(config).get_revision("0016").down_revision
    command.downgrade(config, str(before))  # to just before 0016
    engine = create_engine(sync_url(url))
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO units (id, code, name, kind, path, created_at) "
                    "VALUES (1, 'U', 'Tổ', 'to', '/1/', CURRENT_TIMESTAMP)"
                )
            )
            for index, name in enumerate(NAMES, start=1):
                conn.execute(
                    text(
                        "INSERT INTO members (id, full_name, name_key, unit_id, status, "
                        "created_at, updated_at) VALUES (:id, :name, '', 1, 'active', "
                        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    {"id": index, "name": name},
                )
        command.upgrade(config, "head")
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT full_name FROM members ORDER BY sort_key, id")).all()
    finally:
        engine.dispose()
    assert [r[0] for r in rows] == sorted(NAMES, key=vi_sort_key)
