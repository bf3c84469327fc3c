"""Units declared in config.toml: created parents first, renamed, moved with their subtree."""

from __future__ import annotations

from bot.app import App
from bot.config import UnitSection
from models import units


def spec(code: str, name: str, parent: str = "", kind: str = "to") -> UnitSection:
    return UnitSection(code=code, name=name, kind=kind, parent=parent)


async def test_sync_creates_renames_and_moves(app: App) -> None:
    declared = [
        # children before their parents: still created, a level at a time
        spec("px-t1", "Tổ 1", "PX"),
        spec("PX", "Phân xưởng", "CTY", "cdbp"),
        spec("CTY", "Công đoàn cơ sở Công ty", kind="cdcs"),
        *[spec(f"CTY-T{i}", f"Tổ {i}", "CTY") for i in range(1, 301)],
    ]
    async with app.db.session() as session:
        assert await units.sync_from_config(session, declared) == 303
        await session.commit()
    async with app.db.session() as session:
        root = await units.by_code(session, "CTY")
        shop = await units.by_code(session, "PX")
        leaf = await units.by_code(session, "PX-T1")
        assert root and shop and leaf
        assert leaf.path == f"/{root.id}/{shop.id}/{leaf.id}/"
        assert len(await units.subtree(session, root)) == 303
        # again, with the shop renamed and moved to the top: its tổ follows
        moved = [spec("PX", "Phân xưởng Nhuộm", "", "cdbp"), spec("PX-T1", "Tổ Hóa chất", "PX")]
        assert await units.sync_from_config(session, moved) == 2
        await session.commit()
    async with app.db.session() as session:
        shop = await units.by_code(session, "PX")
        leaf = await units.by_code(session, "PX-T1")
        assert shop and leaf and shop.parent_id is None and shop.name == "Phân xưởng Nhuộm"
        assert leaf.path == f"/{shop.id}/{leaf.id}/" and leaf.name == "Tổ Hóa chất"
        root = await units.by_code(session, "CTY")
        assert root and len(await units.subtree(session, root)) == 301


async def test_sync_refuses_unknown_parents(app: App) -> None:
    async with app.db.session() as session:
        try:
            await units.sync_from_config(session, [spec("A1", "Tổ A", "NOWHERE")])
        except ValueError as exc:
            assert "A1" in str(exc)
        else:
            raise AssertionError("a unit under an unknown parent was accepted")
