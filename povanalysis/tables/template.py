"""A blank annex in the published layout, listing the pre-2025 units by district, for figures copied from a PDF.

Researchers who hold an annex only as a PDF copy its figures into :func:`template`'s
workbook: the header is the annexes' (merged titles over two rows, a row numbering the
columns), the units are listed by old province and district with their names as the
registry writes them, and the figures are left empty.  Copy every figure as published,
totals and rates included: :func:`povanalysis.tables.read_published` checks each against the
others, which catches most typing errors.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import openpyxl
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from ..common.files import atomic_write_bytes
from ..data import registry

__all__ = ["template", "TEMPLATE_HEADER", "AREAS"]

#: The old provinces a template can list, and their names.
AREAS: dict[str, str] = {"thai_nguyen": "Tỉnh Thái Nguyên", "bac_kan": "Tỉnh Bắc Kạn"}
#: The header: (upper title, lower title) per column; an upper title over several columns is merged.
TEMPLATE_HEADER: tuple[tuple[str, str], ...] = (
    ("STT", ""),
    ("Đơn vị", ""),
    ("Tổng số hộ dân cư", ""),
    ("Hộ nghèo", "Số hộ"),
    ("Hộ nghèo", "Tỷ lệ (%)"),
    ("Hộ cận nghèo", "Số hộ"),
    ("Hộ cận nghèo", "Tỷ lệ (%)"),
    ("Hộ nghèo dân tộc thiểu số", ""),
    ("Ghi chú", ""),
)
_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
_FIRST_HEADER_ROW = 5


def _merge_header(ws) -> None:
    top, bottom = _FIRST_HEADER_ROW, _FIRST_HEADER_ROW + 1
    j = 0
    while j < len(TEMPLATE_HEADER):
        upper, lower = TEMPLATE_HEADER[j]
        span = 1
        while j + span < len(TEMPLATE_HEADER) and TEMPLATE_HEADER[j + span][0] == upper:
            span += 1
        ws.cell(top, j + 1, upper)
        if span > 1:
            ws.merge_cells(start_row=top, start_column=j + 1, end_row=top, end_column=j + span)
            for k in range(span):
                ws.cell(bottom, j + k + 1, TEMPLATE_HEADER[j + k][1])
        elif not lower:
            ws.merge_cells(start_row=top, start_column=j + 1, end_row=bottom, end_column=j + 1)
        j += span


def template(path: str | os.PathLike, *, year: int | None = None, area: str | None = None) -> Path:
    """Write an empty annex in the published layout, listing the pre-2025 units by district.

    Parameters
    ----------
    path : str or Path
        The ``.xlsx`` file to write (replaced atomically).
    year : int, optional
        The review year, written in the title (read back by :func:`povanalysis.tables.read_published`).
    area : {"thai_nguyen", "bac_kan"}, optional
        One old province (as each province published its own annex until 2024); default both,
        each under its own province row.

    Returns
    -------
    Path

    Examples
    --------
    >>> import tempfile, openpyxl
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = template(Path(folder.name) / "annex.xlsx", year=2023, area="bac_kan")
    >>> ws = openpyxl.load_workbook(path).active
    >>> ws["A2"].value, ws["B9"].value, ws["B10"].value
    ('KẾT QUẢ RÀ SOÁT HỘ NGHÈO, HỘ CẬN NGHÈO NĂM 2023', 'Thành Phố Bắc Kạn', 'Phường Nguyễn Thị Minh Khai')
    >>> sum(1 for r in ws.iter_rows(min_row=9, values_only=True) if str(r[0]).isdigit())
    108
    >>> folder.cleanup()
    """
    if area is not None and area not in AREAS:
        raise ValueError(f"area must be one of {list(AREAS)} or None, got {area!r}")
    if year is not None and (isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100):
        raise ValueError(f"year must be a review year such as 2023, got {year!r}")
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise ValueError(f"the template is an .xlsx workbook: got '{path}'")
    units = registry.units(2024)
    areas = [area] if area else list(AREAS)
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Phụ lục"
    width = len(TEMPLATE_HEADER)
    bold = Font(bold=True)
    ws["A1"] = "PHỤ LỤC"
    ws["A2"] = f"KẾT QUẢ RÀ SOÁT HỘ NGHÈO, HỘ CẬN NGHÈO NĂM {year if year else '....'}"
    ws["A3"] = (
        "(Đơn vị hành chính trước ngày 01/7/2025. Chép mọi số liệu như đã công bố, cả dòng tổng và tỷ lệ; "
        "để trống dòng không có trong phụ lục.)"
    )
    ws["A4"] = "Đơn vị tính: hộ"
    for r in range(1, 4):
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=width)
        ws.cell(r, 1).alignment = Alignment(horizontal="center", wrap_text=True)
        ws.cell(r, 1).font = bold
    _merge_header(ws)
    numbering = ["A", "B"] + [str(k) for k in range(1, width - 1)]
    for j, text in enumerate(numbering):
        ws.cell(_FIRST_HEADER_ROW + 2, j + 1, text).alignment = Alignment(horizontal="center")
    row = _FIRST_HEADER_ROW + 3
    ws.cell(row, 2, "Tổng cộng").font = bold
    row += 1
    for a, key in enumerate(areas):
        if len(areas) > 1:
            ws.cell(row, 1, "AB"[a]).font = bold
            ws.cell(row, 2, AREAS[key]).font = bold
            row += 1
        part = units[units["old_area"] == key]
        for d, (_, district) in enumerate(part.groupby("district_code", sort=True)):
            ws.cell(row, 1, _ROMAN[d]).font = bold
            ws.cell(row, 2, district["district_name"].iloc[0]).font = bold
            row += 1
            for k, name in enumerate(district.sort_values("commune_code")["name"], start=1):
                ws.cell(row, 1, k)
                ws.cell(row, 2, name)
                row += 1
    thin = Side(style="thin")
    for r in range(_FIRST_HEADER_ROW, row):
        for j in range(1, width + 1):
            cell = ws.cell(r, j)
            cell.border = Border(left=thin, right=thin, top=thin, bottom=thin)
            if r < _FIRST_HEADER_ROW + 2:
                cell.font = bold
                cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for j, w in enumerate((6, 32, 14, 10, 10, 10, 10, 14, 16), start=1):
        ws.column_dimensions[get_column_letter(j)].width = w
    ws.freeze_panes = ws.cell(_FIRST_HEADER_ROW + 3, 3)
    buffer = io.BytesIO()
    book.save(buffer)
    return atomic_write_bytes(path, buffer.getvalue())
