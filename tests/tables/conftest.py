"""Annex-style files made in the tests: a title, a header merged over two rows, totals, districts, communes."""

from __future__ import annotations

import csv
import io
import os
import unicodedata
from pathlib import Path

import openpyxl
import pytest

from povanalysis import config
from povanalysis.data import pipeline

ARTIFACTS = config.PROJ_ROOT / "tests" / "_artifacts"
TITLE = (
    "PHỤ LỤC",
    "KẾT QUẢ RÀ SOÁT HỘ NGHÈO, HỘ CẬN NGHÈO NĂM {year}",
    "(Kèm theo Quyết định số 15/QĐ-UBND ngày 10 tháng 1 năm {next} của UBND tỉnh)",
)
UPPER = ("STT", "Đơn vị", "Tổng số hộ dân cư", "Hộ nghèo", None, "Hộ cận nghèo", None, "Hộ nghèo DTTS", "Ghi chú")
LOWER = (None, None, None, "Số hộ", "Tỷ lệ (%)", "Số hộ", "Tỷ lệ (%)", None, None)
NUMBERING = ("A", "B", "1", "2", "3=2/1", "4", "5=4/1", "6", "7")
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def cp1258(text: str) -> bytes:
    """``text`` as Windows-1258 bytes, tone marks as combining characters (as Windows writes them)."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", ch)
        tones = "".join(m for m in parts[1:] if m in _TONES)
        base = unicodedata.normalize("NFC", parts[0] + "".join(m for m in parts[1:] if m not in _TONES))
        out += base.encode("cp1258") + tones.encode("cp1258")
    return bytes(out)


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 2) if whole else None


def annex_rows(items, *, overrides=None) -> list[list]:
    """The body rows of an annex.

    ``items``: ``("commune", label, households, poor, near_poor, minority_poor)``,
    ``("district", label, style)`` with style ``"row"`` (the district row carries its figures),
    ``"cong"`` (a "Cộng" row after its communes) or ``"none"``, ``("province", label)`` and
    ``("total", label)`` (figures of every commune).  ``overrides`` maps a label to
    ``{column index: value}`` written over the computed cells.
    """
    overrides = overrides or {}
    communes = [it for it in items if it[0] == "commune"]

    def figures(group):
        hh, poor, near, mino = (sum(c[k] for c in group) for k in range(2, 6))
        return [hh, poor, _rate(poor, hh), near, _rate(near, hh), mino]

    def following(k, stops):
        group = []
        for it in items[k + 1 :]:
            if it[0] in stops:
                break
            if it[0] == "commune":
                group.append(it)
        return group

    rows, n, roman, open_cong = [], 0, 0, None

    def close():
        if open_cong is not None:
            cong = [None, "Cộng", *figures(following(open_cong, ("province", "total", "district"))), None]
            for j, value in overrides.get("Cộng", {}).items():
                cong[j] = value
            rows.append(cong)

    for k, it in enumerate(items):
        kind = it[0]
        if kind != "commune":
            close()
            open_cong = None
        if kind == "commune":
            n += 1
            row = [n, it[1], *figures([it]), None]
        elif kind == "total":
            row = [None, it[1], *figures(communes), None]
        elif kind == "province":
            roman = 0
            row = ["A", it[1], *figures(following(k, ("province", "total"))), None]
        else:
            roman += 1
            n = 0
            group = following(k, ("province", "total", "district"))
            row = [ROMAN[roman - 1], it[1]]
            row += figures(group) if it[2] == "row" else [None] * 6
            row.append(None)
            open_cong = k if it[2] == "cong" else None
        for j, value in overrides.get(it[1], {}).items():
            row[j] = value
        rows.append(row)
    close()
    return rows


def write_annex(path: Path, items, *, year=2023, overrides=None, encoding="utf-8", title=True) -> Path:
    """An annex in ``path`` (``.xlsx``: merged header; ``.csv``: the same cells, Vietnamese number format)."""
    head = [[t.format(year=year, next=year + 1)] for t in TITLE] if title else []
    body = annex_rows(items, overrides=overrides)
    if path.suffix == ".xlsx":
        book = openpyxl.Workbook()
        ws = book.active
        ws.title = "PL01"
        for row in head:
            ws.append(row)
        top = len(head) + 1
        ws.append(list(UPPER))
        ws.append(list(LOWER))
        ws.append(list(NUMBERING))
        for j in (1, 2, 3, 8, 9):
            ws.merge_cells(start_row=top, start_column=j, end_row=top + 1, end_column=j)
        ws.merge_cells(start_row=top, start_column=4, end_row=top, end_column=5)
        ws.merge_cells(start_row=top, start_column=6, end_row=top, end_column=7)
        for row in body:
            ws.append(row)
        book.save(path)
        return path

    def cell(v):
        if v is None:
            return ""
        if isinstance(v, float):
            return f"{v:.2f}".replace(".", ",")
        if isinstance(v, int) and v >= 1000:
            return f"{v:,}".replace(",", ".")
        return str(v)

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in head + [list(UPPER), list(LOWER), list(NUMBERING)] + body:
        writer.writerow([cell(v) for v in row])
    text = buffer.getvalue()
    path.write_bytes(cp1258(text) if encoding == "cp1258" else text.encode(encoding))
    return path


@pytest.fixture(scope="session")
def classified():
    """The small synthetic panel, classified (the data the other tests prepare)."""
    with pytest.MonkeyPatch.context() as mp:
        root = Path(os.environ.get("POVANALYSIS_DATA_DIR") or ARTIFACTS / "data")
        pipeline.ensure_demo_data(root, seed=20240, scale=0.02)
        mp.setenv("POVANALYSIS_DATA_DIR", str(root))
        return pipeline.load_classified()
