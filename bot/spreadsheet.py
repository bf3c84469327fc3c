"""Spreadsheet safety: text people typed (names, options, commitments) must stay text.

openpyxl stores any string that starts with "=" as a formula; a member named
`=HYPERLINK(...)` would otherwise put a live formula in the board's export.
"""

from __future__ import annotations

from typing import Any

from openpyxl.cell import WriteOnlyCell


def keep_text(*sheets: Any) -> None:
    """Turn every would-be formula in these (normal mode) sheets back into text."""
    for sheet in sheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"


def text_cell(sheet: Any, value: Any) -> Any:
    """A value for a write-only sheet: strings starting with "=" as text cells."""
    if isinstance(value, str) and value.startswith("="):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value
