"""Labels read for what they are, and commune names matched to the pre-2025 units within their district."""

from __future__ import annotations

import pandas as pd
import pytest

from povanalysis.data import registry
from povanalysis.tables.names import MATCH_THRESHOLD, Matcher, parse_label, similarity


@pytest.fixture(scope="module")
def matcher():
    return Matcher(2024)


@pytest.mark.parametrize(
    ("label", "kind"),
    [
        ("Tổng cộng", "total"),
        ("TỔNG CỘNG", "total"),
        ("Tong cong", "total"),
        ("Toàn tỉnh", "total"),
        ("Tỉnh Thái Nguyên", "province"),
        ("Tinh Bac Kan", "province"),
        ("Huyện Phú Bình", "district"),
        ("Thị xã Phổ Yên", "district"),
        ("TP. Thái Nguyên", "district"),
        ("Huyen Dai Tu", "district"),
        ("Bạch Thông", "district"),
        ("Cộng", "subtotal"),
        ("Cộng huyện Ba Bể", "subtotal"),
        ("Trong đó: hộ DTTS", "breakdown"),
        ("Xã Quân Chu", "commune"),  # "Quân", not "Quận"
        ("Thị trấn Quân Chu", "commune"),
        ("Xã Công Bằng", "commune"),  # "Công", not "Cộng"
        ("1. Xã Tân Cương", "commune"),
    ],
)
def test_labels_are_read_for_what_they_are(label, kind):
    assert parse_label(label).kind == kind


def test_a_name_is_matched_within_its_district_first(matcher):
    # Two wards named Trung Thành, in Thái Nguyên city (164) and Phổ Yên (172).
    assert matcher.commune("Trung Thành", "164").commune_code == "05476"
    assert matcher.commune("Trung Thành", "172").commune_code == "05899"
    ambiguous = matcher.commune("Trung Thành")
    assert ambiguous.commune_code is None and ambiguous.note.startswith("ambiguous: 2 units of the province")
    # ASCII folding collides across districts (Văn Lang, Na Rì; Văn Lăng, Đồng Hỷ), not within one.
    assert matcher.commune("Van Lang", "066").commune_code == "02140"
    assert matcher.commune("Van Lang", "169").commune_code == "05665"
    assert matcher.commune("Van Lang").commune_code is None


def test_a_commune_under_the_wrong_district_is_placed_with_a_note(matcher):
    hit = matcher.commune("Xã Tân Cương", "169")
    assert (hit.commune_code, hit.method) == ("05503", "exact")
    assert hit.note == "listed under Huyện Đồng Hỷ; the registry puts it in Thành phố Thái Nguyên"


def test_a_commune_that_became_a_ward_keeps_its_match_with_a_note(matcher):
    hit = matcher.commune("Xã Ba Hàng", "172")  # a ward of Phổ Yên since 2022
    assert hit.commune_code == "05860" and hit.note == "written as a commune, registered as a ward"


def test_fuzzy_matches_need_the_threshold_and_a_lead(matcher):
    assert similarity("quang sơnn", "quang sơn") >= MATCH_THRESHOLD
    hit = matcher.commune("Tân Thnh", "164")  # as near Tân Thịnh as Tân Thành
    assert hit.commune_code is None and hit.note == "two units score within 0.05 of each other"
    assert [s[0] for s in hit.suggestions[:2]] == ["05452", "05479"]
    strict = Matcher(2024, threshold=0.99)
    assert strict.commune("Xã Quang Sơnn", "169").commune_code is None


def test_districts_are_matched_by_their_name_whatever_their_status(matcher):
    assert [
        matcher.district(d) for d in ("Thị xã Phổ Yên", "TP Sông Công", "Định Hoá", "Huyện Ba Be", "Huyen Na Ri")
    ] == [
        "172",
        "165",
        "167",
        "061",
        "066",
    ]
    assert matcher.district("Huyện Yên Thế") is None
    assert matcher.district_elsewhere("Huyện Yên Thế") == ("Huyện Yên Thế, Tỉnh Bắc Giang",)


def test_aliases_must_name_known_units():
    with pytest.raises(ValueError, match="aliases: 'Xã Cũ' → '99999' is not a unit code of vintage 2024"):
        Matcher(2024, aliases={"Xã Cũ": "99999"})


def test_the_2025_units_can_be_matched_too():
    m = Matcher(2025)
    assert m.commune("Phường Đức Xuân").commune_code == "01840"
    assert m.commune("Xã Văn Lăng").commune_code == "05665"
    assert m.commune("Xa Van Lang").note == "ambiguous: 2 units of the province bear this name"  # no district in 2025


def test_every_old_name_of_the_statistics_office_is_placed_in_its_district(reference_dir):
    rows = pd.read_csv(reference_dir / "gso_conversion_rows.csv", header=1, dtype=str)
    rows = rows[rows["Mã Xã cũ"].notna()].drop_duplicates("Mã Xã cũ")
    assert len(rows) == 280
    m = Matcher(2024)
    for name, code, district in zip(rows["Tên Xã cũ"], rows["Mã Xã cũ"], rows["Quận/huyện"]):
        label = district.rsplit(" (", 1)[0]
        d = m.district(label)
        assert d == registry.lookup(code, vintage=2024)["district_code"], label
        for variant in (name, registry.ascii_name(name), name.split(" ", 1)[1] if name.startswith("Xã ") else name):
            assert m.commune(variant, d).commune_code == code, variant
