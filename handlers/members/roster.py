"""The member list as an Excel file: export for the board, import of the union's roster.

Export and import share one column layout, so an exported file can be edited and imported back.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import textutil
from bot.i18n import Translator
from bot.spreadsheet import keep_text
from models import emulation, members, units
from models.members import ACTIVE, PENDING, ROSTER, Member
from models.units import Unit

# (column key, width); headers come from the catalog ("xlsx.col.<key>").
COLUMNS = [
    ("no", 6),
    ("full_name", 28),
    ("gender", 9),
    ("birth_date", 13),
    ("phone", 15),
    ("email", 26),
    ("job_title", 26),
    ("unit_code", 12),
    ("unit", 32),
    ("card_number", 16),
    ("joined_union_on", 14),
    ("status", 14),
]


async def export_members(
    session: AsyncSession, roots: Sequence[Unit], t: Translator, *, title: str
) -> bytes:
    """One sheet for everyone, then one sheet per unit that has members."""
    wb = Workbook()
    everyone = wb.active
    assert everyone is not None
    everyone.title = t("xlsx.sheet_all")[:31]
    unit_by_id: dict[int, Unit] = {}
    rows: list[tuple[Unit, Member]] = []
    for root in roots:
        for unit in await units.subtree(session, root):
            assert unit.id is not None
            unit_by_id[unit.id] = unit
        for member in await members.list_in_subtree(
            session, root, statuses=(ACTIVE, ROSTER, PENDING)
        ):
            rows.append((unit_by_id[member.unit_id], member))
    _fill(everyone, rows, t, title)
    for unit in unit_by_id.values():
        own = [(u, m) for u, m in rows if u.id == unit.id]
        if own:
            _fill(wb.create_sheet(_sheet_name(unit.code, wb.sheetnames)), own, t, unit.name)
    keep_text(*wb.worksheets)  # names and notes typed by people stay text
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _sheet_name(code: str, taken: list[str]) -> str:
    name = code[:31]
    return name if name not in taken else f"{name[:28]}-{len(taken)}"


def _fill(ws: Any, rows: list[tuple[Unit, Member]], t: Translator, title: str) -> None:
    ws.append([title])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([t("xlsx.count", count=t.number(len(rows)))])
    header_row = 3
    ws.append([t(f"xlsx.col.{key}") for key, _ in COLUMNS])
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for number, (unit, m) in enumerate(rows, start=1):
        ws.append(
            [
                number,
                m.full_name,
                t(f"gender.{m.gender}") if m.gender else "",
                m.birth_date,
                textutil.format_phone_local(m.phone) if m.phone else "",
                m.email or "",
                m.job_title or "",
                unit.code,
                unit.name,
                m.card_number or "",
                m.joined_union_on,
                t(f"status.{m.status}"),
            ]
        )
    for index, (key, width) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
        if key in ("birth_date", "joined_union_on"):
            for cell in ws[get_column_letter(index)][header_row:]:
                cell.number_format = "DD/MM/YYYY"
    ws.freeze_panes = ws.cell(row=header_row + 1, column=3)


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


# Header texts (diacritics folded) accepted for each column, Vietnamese and English.
HEADERS = {
    "full_name": ("ho va ten", "ho ten", "full name", "name"),
    "gender": ("gioi tinh", "gender"),
    "birth_date": ("ngay sinh", "date of birth", "birth date"),
    "phone": ("so dien thoai", "dien thoai", "sdt", "phone"),
    "email": ("email", "e mail"),
    "job_title": ("chuc vu cong viec", "chuc vu", "cong viec", "job title"),
    "unit_code": ("ma don vi", "unit code"),
    "card_number": ("so the doan vien", "so the", "card number", "union card"),
    "joined_union_on": ("ngay vao cong doan", "joined union", "join date"),
}


def _cell_text(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value).strip()


async def import_roster(session: AsyncSession, path: Path, today: date) -> ImportReport:
    """Create or update roster rows; a later self-registration with the same phone or card
    number is approved automatically. Rows with errors are reported and skipped."""
    ws = load_workbook(path, read_only=True, data_only=True).active
    report = ImportReport()
    columns: dict[str, int] = {}
    for row_number, row in enumerate(ws.iter_rows(values_only=True), start=1):
        cells = [_cell_text(v) for v in row]
        if not columns:
            found = {
                key: i
                for i, text in enumerate(cells)
                for key, names in HEADERS.items()
                if textutil.fold_input(text) in names
            }
            if "full_name" in found and "unit_code" in found:
                columns = found
            continue
        if not any(cells):
            continue
        values = {key: cells[i] if i < len(cells) else "" for key, i in columns.items()}
        try:
            await _import_row(session, values, today, report)
        except textutil.InvalidInput as bad:
            report.errors.append(f"dòng {row_number}: {bad.key}")
            report.skipped += 1
        except LookupError as missing:
            report.errors.append(f"dòng {row_number}: {missing}")
            report.skipped += 1
    if not columns:
        report.errors.append("không thấy dòng tiêu đề có 'Họ và tên' và 'Mã đơn vị'")
    return report


async def _import_row(
    session: AsyncSession, values: dict[str, str], today: date, report: ImportReport
) -> None:
    unit = await units.by_code(session, values["unit_code"])
    if unit is None:
        raise LookupError(f"không có đơn vị mã '{values['unit_code']}'")
    assert unit.id is not None
    name = textutil.parse_full_name(values["full_name"])
    parsed: dict[str, Any] = {"full_name": name}
    optional = {
        "phone": textutil.parse_phone,
        "card_number": textutil.parse_card_number,
        "email": textutil.parse_email,
        "job_title": lambda s: textutil.parse_free_text(s, max_len=120),
        "birth_date": lambda s: textutil.parse_date(s, today=today),
        "joined_union_on": lambda s: textutil.parse_date(s, today=today),
    }
    for key, parse in optional.items():
        if values.get(key):
            parsed[key] = parse(values[key])
    gender = textutil.fold_input(values.get("gender", ""))
    if gender in ("nam", "nu"):
        parsed["gender"] = gender
    existing = await members.find_duplicate(
        session,
        phone=parsed.get("phone"),
        card_number=parsed.get("card_number"),
        exclude_id=None,
    )
    moved = existing is not None and existing.unit_id != unit.id
    member = await members.save_roster_row(
        session=session, existing=existing, unit_id=unit.id, row=members.RosterRow(**parsed)
    )
    if moved:  # pledges follow the member to the unit that will review them
        assert member.id is not None
        await emulation.follow_member(session, member.id, unit.id)
    if existing is None:
        report.created += 1
    else:
        report.updated += 1
