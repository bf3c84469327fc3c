"""The schema the migrations build is the one the models describe, with stable names, on the
database the suite runs on (SQLite, or PostgreSQL in the PostgreSQL pass)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect
from sqlmodel import SQLModel

import models  # noqa: F401 - every table on SQLModel.metadata
from models.db import alembic_config, current_revision, head_revision, sync_url, upgrade
from models.types import fit_file_name
from tests.databases import database_url


@pytest.fixture
def migrated(tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    url = database_url(tmp_path)
    upgrade(url)
    engine = create_engine(sync_url(url))
    yield url, engine
    engine.dispose()


def test_models_match_migrations(migrated: tuple[str, Engine]) -> None:
    """What `alembic revision --autogenerate` would write after the last migration: nothing."""
    _, engine = migrated
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": False}
        )
        assert compare_metadata(context, SQLModel.metadata) == []


def _names(engine: Engine) -> dict[str, dict[str, Any]]:
    inspector = inspect(engine)
    found = {}
    for table in inspector.get_table_names():
        if table == "alembic_version":
            continue
        found[table] = {
            "pk": inspector.get_pk_constraint(table)["name"],
            "fk": sorted(fk["name"] for fk in inspector.get_foreign_keys(table)),
            "uq": sorted(uq["name"] for uq in inspector.get_unique_constraints(table)),
            # (PostgreSQL also lists the index behind each unique constraint)
            "ix": sorted(
                ix["name"]
                for ix in inspector.get_indexes(table)
                if not ix.get("duplicates_constraint")
            ),
        }
    return found


def _expected() -> dict[str, dict[str, Any]]:
    expected = {}
    for table in SQLModel.metadata.sorted_tables:
        unique = [c for c in table.constraints if type(c).__name__ == "UniqueConstraint"]
        expected[table.name] = {
            "pk": table.primary_key.name,
            "fk": sorted(fk.name for fk in table.foreign_key_constraints),
            "uq": sorted(c.name for c in unique),
            "ix": sorted(ix.name for ix in table.indexes),
        }
    return expected


def test_every_constraint_has_its_conventional_name(migrated: tuple[str, Engine]) -> None:
    """Primary keys, foreign keys, unique constraints and indexes carry the names the models
    give them (models/types.py NAMING_CONVENTION), so a later migration can address them."""
    _, engine = migrated
    expected = _expected()
    assert all(name for table in expected.values() for name in _flat(table))
    assert _names(engine) == expected


def _flat(table: dict[str, Any]) -> list[str]:
    return [table["pk"], *table["fk"], *table["uq"], *table["ix"]]


def test_migrations_go_down_and_up_again(migrated: tuple[str, Engine]) -> None:
    """Every downgrade finds the constraints it drops by name, and the way back up works."""
    url, engine = migrated
    engine.dispose()
    command.downgrade(alembic_config(url), "base")
    assert current_revision(url) is None
    upgrade(url)
    assert current_revision(url) == head_revision(url)


async def test_the_suite_runs_on_the_database_it_names(app, bot, zbot, pytestconfig) -> None:
    """`--db postgresql` really puts the app on PostgreSQL (and the default on SQLite), also
    where the Telegram and Zalo helpers build their bots."""
    for built in (app, bot.app, zbot.app):
        assert built.db.engine.dialect.name == pytestconfig.getoption("--db")


def test_file_names_are_cut_to_their_column_keeping_the_extension() -> None:
    assert fit_file_name("bien-ban.pdf", 200) == "bien-ban.pdf"
    cut = fit_file_name("b" * 300 + ".docx", 200)
    assert len(cut) == 200 and cut.endswith("b.docx")
    assert fit_file_name("x" * 300, 200) == "x" * 200
    assert fit_file_name("." + "x" * 300, 200) == "." + "x" * 199
