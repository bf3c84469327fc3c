"""A CĐCS with 1,000 tổ and a tổ two levels down: the unit tree of the long-list tests."""

from __future__ import annotations

from bot.config import UnitSection

TO_COUNT = 1000
ROOT = "Công đoàn cơ sở Công ty Dệt may Hòa Bình"
DEEP = "Tổ Hóa chất"  # two levels down: CĐCS → Phân xưởng Nhuộm → Tổ Hóa chất


def big_units() -> list[UnitSection]:
    specs = [UnitSection(code="DM", name=ROOT, kind="cdcs")]
    specs += [
        UnitSection(code=f"DM-T{i}", name=f"Tổ công đoàn số {i}", kind="to", parent="DM")
        for i in range(1, TO_COUNT + 1)
    ]
    specs.append(UnitSection(code="DM-PXN", name="Phân xưởng Nhuộm", kind="cdbp", parent="DM"))
    specs.append(UnitSection(code="DM-PXN-HC", name=DEEP, kind="to", parent="DM-PXN"))
    return specs
