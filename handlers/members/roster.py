"""The member list as an Excel file: export for the board, import of the union's roster.

Export and import share one column layout, so an exported file can be edited and imported back.
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, fields
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
    unchanged: int = 0


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
# The fields a roster row writes, in the order a preview shows their changes.
ROW_FIELDS = tuple(f.name for f in fields(members.RosterRow))
# More rows than any union's roster: a bigger sheet is not one.
MAX_ROWS = 20_000
NEW, UPDATE, SAME, ERROR = "new", "update", "same", "error"


class RosterUnreadable(Exception):
    """Not an .xlsx workbook, or one too large to be a roster (a catalog key, and params)."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key, self.params = key, params


@dataclass(frozen=True)
class RosterSheet:
    # (row number in the sheet, the cells by column key); empty rows left out
    rows: list[tuple[int, dict[str, str]]]
    header_found: bool


@dataclass
class PlannedRow:
    """What importing one row would do, decided without writing anything."""

    number: int
    kind: str  # NEW, UPDATE, SAME or ERROR
    name: str
    unit: Unit | None = None
    member_id: int | None = None  # the member an UPDATE/SAME row matched
    row: members.RosterRow | None = None
    moved: bool = False
    # (field, old value, new value) of an UPDATE; "unit" for a move
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)
    # An ERROR's catalog key and params ("field": the column whose rules refused it).
    problem: tuple[str, dict[str, Any]] = ("", {})


def _cell_text(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value).strip()


def read_roster(source: Path | bytes) -> RosterSheet:
    """The rows under the first line that names the 'Họ và tên' and 'Mã đơn vị' columns."""
    try:
        book = load_workbook(
            source if isinstance(source, Path) else io.BytesIO(source),
            read_only=True,
            data_only=True,
        )
        ws = book.active
        if ws is None:
            raise RosterUnreadable("roster.bad_file")
        columns: dict[str, int] = {}
        rows: list[tuple[int, dict[str, str]]] = []
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
            if len(rows) >= MAX_ROWS:
                raise RosterUnreadable("roster.too_many_rows", limit=MAX_ROWS)
            rows.append(
                (row_number, {k: cells[i] if i < len(cells) else "" for k, i in columns.items()})
            )
    except RosterUnreadable:
        raise
    except Exception as bad:  # openpyxl raises many kinds for a file that is not a workbook
        raise RosterUnreadable("roster.bad_file") from bad
    return RosterSheet(rows, bool(columns))


Allowed = Callable[[Unit], Awaitable[bool]]


async def plan_import(
    session: AsyncSession, sheet: RosterSheet, today: date, *, allowed: Allowed | None = None
) -> list[PlannedRow]:
    """What importing the sheet would do, row by row, without writing anything: a new roster
    row, an update of the member with the same phone or card number (old → new), nothing,
    or an error and why. `allowed`: the units the importer may write to (a board's own); a
    row for another unit, or matching a member of another unit, is an error. A phone or card
    given twice in the file is an error on the later row."""
    read: list[tuple[int, str, str, members.RosterRow | None, Any]] = []
    for number, values in sheet.rows:
        try:
            read.append(
                (
                    number,
                    values.get("full_name", ""),
                    values.get("unit_code", ""),
                    read_row(values, today),
                    None,
                )
            )
        except textutil.InvalidInput as bad:
            problem = (bad.key, dict(bad.params))
            read.append((number, values.get("full_name", ""), "", None, problem))
    rows = [row for *_, row, _problem in read if row is not None]
    holders = await members.holders_of(
        session,
        phones=[r.phone for r in rows if r.phone],
        cards=[r.card_number for r in rows if r.card_number],
    )
    by_number: dict[str, Member] = {}
    for member in reversed(holders):  # the lowest id wins, as find_duplicate's
        for key in (f"phone:{member.phone}", f"card_number:{member.card_number}"):
            by_number[key] = member
    unit_of = {u.id: u for u in await units.all_units(session)}
    by_code = {u.code: u for u in unit_of.values()}
    may: dict[int | None, bool] = {}

    async def permitted(unit: Unit) -> bool:
        if allowed is None:
            return True
        if unit.id not in may:
            may[unit.id] = await allowed(unit)
        return may[unit.id]

    plan: list[PlannedRow] = []
    seen: dict[str, int] = {}
    for number, name, code, row, problem in read:
        if row is None:
            plan.append(PlannedRow(number, ERROR, name, problem=problem))
            continue
        keys = [f"{k}:{v}" for k in ("phone", "card_number") if (v := getattr(row, k))]
        unit = by_code.get(code)
        matches = [by_number[k] for k in keys if k in by_number]
        existing = min(matches, key=lambda m: m.id or 0) if matches else None
        current = unit_of.get(existing.unit_id) if existing else None
        if repeated := next((seen[k] for k in keys if k in seen), None):
            planned = PlannedRow(
                number, ERROR, name, problem=("roster.err.repeated", {"row": repeated})
            )
        elif unit is None:
            planned = PlannedRow(
                number, ERROR, name, problem=("roster.err.unit_unknown", {"code": code})
            )
        elif not await permitted(unit):
            planned = PlannedRow(
                number, ERROR, name, problem=("roster.err.unit_not_yours", {"code": code})
            )
        elif existing is not None and (current is None or not await permitted(current)):
            planned = PlannedRow(number, ERROR, name, problem=("roster.err.member_not_yours", {}))
        else:
            planned = _planned(number, row, unit, existing, current)
        if planned.kind != ERROR:
            for key in keys:
                seen.setdefault(key, number)
        plan.append(planned)
    return plan


def _parsers(today: date) -> dict[str, Callable[[str], Any]]:
    return {
        "full_name": textutil.parse_full_name,
        "phone": textutil.parse_phone,
        "card_number": textutil.parse_card_number,
        "email": textutil.parse_email,
        "job_title": lambda s: textutil.parse_free_text(s, max_len=120),
        "birth_date": lambda s: textutil.parse_date(s, today=today),
        "joined_union_on": lambda s: textutil.parse_date(s, today=today),
    }


def read_row(values: dict[str, str], today: date) -> members.RosterRow:
    """One row's cells by the roster's rules (a blank optional cell: not given); raises
    InvalidInput with `field` set to the column refused."""
    parsed: dict[str, Any] = {}
    for key, parse in _parsers(today).items():
        if values.get(key) or key == "full_name":
            try:
                parsed[key] = parse(values.get(key, ""))
            except textutil.InvalidInput as bad:
                bad.params.setdefault("field", key)
                raise
    gender = textutil.fold_input(values.get("gender", ""))
    if gender in ("nam", "nu"):
        parsed["gender"] = gender
    return members.RosterRow(**parsed)


def _planned(
    number: int,
    row: members.RosterRow,
    unit: Unit,
    existing: Member | None,
    current: Unit | None,
) -> PlannedRow:
    """A row that can be imported: new, or what it changes on the member it matches."""
    planned = PlannedRow(number, NEW, row.full_name, unit=unit, row=row)
    if existing is None:
        return planned
    planned.member_id = existing.id
    for key in ROW_FIELDS:
        new = getattr(row, key)
        if new not in (None, "") and new != getattr(existing, key):
            planned.changes.append((key, getattr(existing, key), new))
    if existing.unit_id != unit.id:
        planned.changes.append(("unit", current.name if current else "", unit.name))
        planned.moved = True
    planned.kind = UPDATE if planned.changes else SAME
    return planned


async def apply_import(session: AsyncSession, plan: Sequence[PlannedRow]) -> ImportReport:
    """Write a plan (plan_import's, just made): new rows wait for their owner to register in
    chat (who is then approved automatically), matched members get the row's values; rows with
    errors and unchanged rows write nothing."""
    report = ImportReport()
    for planned in plan:
        if planned.kind == ERROR:
            report.skipped += 1
            continue
        if planned.kind == SAME:
            report.unchanged += 1
            continue
        assert planned.unit is not None and planned.unit.id is not None and planned.row
        existing = await members.get(session, planned.member_id) if planned.member_id else None
        member = await members.save_roster_row(
            session=session, existing=existing, unit_id=planned.unit.id, row=planned.row
        )
        if planned.moved:  # pledges follow the member to the unit that will review them
            assert member.id is not None
            await emulation.follow_member(session, member.id, planned.unit.id)
        if existing is None:
            report.created += 1
        else:
            report.updated += 1
    return report


def problem_text(t: Translator, planned: PlannedRow) -> str:
    """Why a row cannot be imported, in the reader's words."""
    key, params = planned.problem
    params = {k: v for k, v in params.items() if k != "field"}
    column = planned.problem[1].get("field")
    if key.startswith("invalid.") and column:
        return t("roster.err.column", column=t(f"xlsx.col.{column}"), reason=t(key, **params))
    return t(key, **params)


async def import_roster(
    session: AsyncSession, path: Path, today: date, t: Translator
) -> ImportReport:
    """Create or update roster rows (the admin's command line); a later self-registration
    with the same phone or card number is approved automatically. Rows with errors are
    reported and skipped."""
    try:
        sheet = read_roster(path)
    except RosterUnreadable as bad:
        return ImportReport(errors=[t(bad.key, **bad.params)])
    plan = await plan_import(session, sheet, today)
    report = await apply_import(session, plan)
    report.errors = [
        t("roster.err.row", row=p.number, reason=problem_text(t, p))
        for p in plan
        if p.kind == ERROR
    ]
    if not sheet.header_found:
        report.errors.append(t("roster.no_header"))
    return report
