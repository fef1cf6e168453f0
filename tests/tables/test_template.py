"""The empty annex to fill from a PDF, and the tables commands that write it and check a filled one."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest

from povanalysis.data import registry
from povanalysis.data.sources import ValidationError
from povanalysis.tables import check, main, read_published, template


def _fill(path, counts: dict[str, tuple[int, int, int, int]]):
    """Copy figures into a template's commune rows (district and total rows left empty, as some annexes do)."""
    book = openpyxl.load_workbook(path)
    ws = book.active
    units = registry.units(2024)
    codes = dict(zip(zip(units["district_name"], units["name"]), units["commune_code"]))
    district = None
    for row in ws.iter_rows(min_row=9):
        if row[1].value in set(units["district_name"]):
            district = row[1].value
        if isinstance(row[0].value, int):
            hh, poor, near, minority = counts[codes[district, row[1].value]]
            row[2].value, row[3].value, row[5].value, row[7].value = hh, poor, near, minority
            row[4].value = round(100 * poor / hh, 2)
    book.save(path)
    return path


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    path = template(tmp_path_factory.mktemp("t") / "annex.xlsx", year=2022)
    codes = sorted(registry.known_codes(2024))
    counts = {c: (1000 + k, 50 + k % 40, 30 + k % 25, k % 50) for k, c in enumerate(codes)}
    return _fill(path, counts), counts


def test_a_filled_template_reads_back_every_unit_exactly(filled):
    path, counts = filled
    t = read_published(path)
    assert t.review_year == 2022 and t.complete
    assert t.matches["method"].eq("exact").all() and len(t.table) == 280
    got = t.table.set_index("commune_code")[["households", "poor", "near_poor", "minority_poor"]]
    assert got.apply(tuple, axis=1).to_dict() == counts
    assert t.rows["kind"].value_counts().to_dict() == {"commune": 280, "district": 17, "province": 2, "total": 1}
    assert (t.rows.loc[t.rows["kind"] != "commune", "outcome"] == "no figures: not checked").all()


def test_a_template_of_one_old_province_lists_its_units_by_district(tmp_path):
    path = template(tmp_path / "bk.xlsx", area="bac_kan")
    ws = openpyxl.load_workbook(path).active
    assert ws["A2"].value == "KẾT QUẢ RÀ SOÁT HỘ NGHÈO, HỘ CẬN NGHÈO NĂM ...."
    merged = {str(c) for c in ws.merged_cells.ranges}
    assert merged == {"A1:I1", "A2:I2", "A3:I3", "A5:A6", "B5:B6", "C5:C6", "D5:E5", "F5:G5", "H5:H6", "I5:I6"}
    districts = [r[1] for r in ws.iter_rows(min_row=9, values_only=True) if r[0] in ("I", "II", "III", "IV", "V")]
    assert districts[:2] == ["Thành Phố Bắc Kạn", "Huyện Pác Nặm"]
    with pytest.raises(ValueError, match="area must be one of"):
        template(tmp_path / "x.xlsx", area="ha_giang")


def test_check_prints_the_report_and_main_writes_the_table(filled, tmp_path):
    path, _ = filled
    out = io.StringIO()
    assert check(path, out=out).complete
    assert "communes: 280 placed (280 exact), 0 unplaced; 280 units in the table" in out.getvalue()
    out = io.StringIO()
    assert main(["check", str(path), "--out", str(tmp_path / "t.csv")], out=out) == 0
    table = pd.read_csv(tmp_path / "t.csv", dtype={"commune_code": str}, encoding="utf-8-sig")
    assert len(table) == 280 and table["commune_code"].str.len().eq(5).all()


def test_an_empty_template_is_reported_row_by_row(tmp_path):
    path = template(tmp_path / "empty.xlsx", year=2021)
    out = io.StringIO()
    with pytest.raises(ValidationError) as exc:
        check(path, out=out)
    assert len(exc.value.problems) == 280
    text = out.getvalue()
    assert text.startswith(
        f"{path}: 280 problem(s)\n  sheet row 11 ('Phường Quan Triều'): a commune row without figures"
    )
    assert main(["check", str(path)], out=io.StringIO()) == 1
    assert main(["template", str(tmp_path / "new.xlsx"), "--year", "2024"], out=out) == 0
    assert "wrote " in out.getvalue() and "280 units of Tỉnh Thái Nguyên and Tỉnh Bắc Kạn by district" in out.getvalue()


def test_the_commands_run_as_a_module(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "annex.xlsx"
    done = subprocess.run(
        [sys.executable, "-m", "povanalysis.tables", "template", str(out), "--area", "thai_nguyen"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"wrote {out}: 172 units of Tỉnh Thái Nguyên by district\n"
