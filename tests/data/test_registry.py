import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from povanalysis.data import registry


def test_92_units_77_communes_15_wards():
    u = registry.units()
    assert len(u) == 92 and u["commune_code"].is_unique
    assert u["unit_type"].value_counts().to_dict() == {"commune": 77, "ward": 15}
    assert u["commune_code"].str.fullmatch(r"\d{5}").all()
    assert u["old_area"].value_counts().to_dict() == {"thai_nguyen": 55, "bac_kan": 37}


def test_crosswalk_accounts_for_every_old_unit_and_the_three_splits():
    cw = registry.crosswalk()
    old = registry.units(2024)
    assert len(old) == 280 and old["old_area"].value_counts().to_dict() == {"thai_nguyen": 172, "bac_kan": 108}
    assert set(cw["old_code"]) == set(old["commune_code"])
    assert set(cw["new_code"]) == set(registry.units()["commune_code"])
    split = cw[cw["relation"] == "split"]
    assert sorted(split["old_code"].unique()) == ["05461", "05467", "05932"]
    assert (split.groupby("old_code").size() == 2).all()
    assert (cw["relation"] == "unchanged").sum() == 2


def test_codes_are_reused_across_vintages_with_other_names():
    assert registry.lookup("01843", vintage=2025)["name"] == "Phường Bắc Kạn"
    assert registry.lookup("01843", vintage=2024)["name"] == "Phường Phùng Chí Kiên"
    with pytest.raises(KeyError, match="commune code '99999' is not a unit of vintage 2025"):
        registry.lookup("99999")
    with pytest.raises(ValueError, match="vintage must be one of"):
        registry.units(2019)


def test_ascii_names_collide_but_codes_and_slugs_do_not():
    u = registry.units().set_index("commune_code")
    assert u.loc["02143", "name_ascii"] == u.loc["05665", "name_ascii"] == "Xa Van Lang"
    assert u.loc["02143", "name"] != u.loc["05665", "name"]
    assert u["slug"].is_unique


def test_district_names_are_not_commune_names():
    # 'Đại Từ' names a district before 2025 and a single commune after it.
    u = registry.units().set_index("name")
    dai_tu = u.loc["Xã Đại Từ"]
    assert "Huyện Đại Từ" in dai_tu["predecessor_districts"]
    assert len(dai_tu["predecessor_codes"]) < 31  # the old district had 29 communes and a town


def test_tone_mark_normalisation():
    assert registry.normalise_name("Xã Định Hoá") == registry.normalise_name("Xã Định Hóa") == "Xã Định Hóa"
    assert registry.normalise_name("Thuỵ") == "Thụy"
    decomposed = "Thu\u0323y"  # NFD
    assert registry.normalise_name(decomposed) == "Thụy"


@given(st.text(max_size=40))
def test_slugs_are_safe_for_file_names(text):
    s = registry.slug(text)
    assert all(ch.isascii() and (ch.isalnum() or ch == "-") for ch in s)
    assert ".." not in s and "/" not in s and not s.startswith("-")


def test_matches_the_reference_files(reference_dir):
    ref = pd.read_csv(reference_dir / "units_2025.csv", dtype=str)
    u = registry.units().merge(ref, left_on="commune_code", right_on="code", suffixes=("", "_ref"))
    assert len(u) == 92
    assert (u["name"] == u["name_ref"].map(registry.normalise_name)).all()
    assert (u["unit_type"] == u["unit_type_ref"]).all()
    assert (u["from_bac_kan"].astype(str) == u["from_bac_kan_ref"]).all()
    cw_ref = pd.read_csv(reference_dir / "old_to_new_2025.csv", dtype=str)
    both = registry.crosswalk().merge(cw_ref, on=["old_code", "new_code"], how="outer", indicator=True)
    assert (both["_merge"] == "both").all() and len(both) == 283
    assert (both["relation_x"] == both["relation_y"]).all()


def test_closed_syllables_keep_their_tone_mark():
    assert registry.normalise_name("Phường Hoàng Văn Thụ") == "Phường Hoàng Văn Thụ"
    assert registry.normalise_name("Xã Quỳnh Sơn") == "Xã Quỳnh Sơn"
    names = set(registry.crosswalk()["old_name"]) | set(registry.units()["name"])
    assert not any("òang" in n or "Hòang" in n for n in names)


def test_unit_code_pads_what_papermill_and_spreadsheets_make_of_a_code():
    # papermill -p commune_code 01840 passes the integer 1840
    assert registry.unit_code(1840) == registry.unit_code("01840") == registry.unit_code(" 1840") == "01840"
    assert registry.unit_code(np.int64(5665)) == "05665"
    assert registry.unit_code(1843, vintage=2024) == "01843"


@pytest.mark.parametrize("value", [1840.0, True, -1840, "123456", "01840a", "Đức Xuân", None, "１８４０"])
def test_unit_code_rejects_what_is_not_a_code(value):
    with pytest.raises(
        ValueError, match=r"commune code must be 5 digits such as '01840' .*got " + re.escape(repr(value))
    ):
        registry.unit_code(value)


def test_unit_code_names_the_value_and_the_nearest_codes():
    with pytest.raises(
        ValueError, match=r"commune code 1841 \('01841'\) is not a unit .* nearest codes: '01840' Phường Đức Xuân"
    ):
        registry.unit_code(1841)
    with pytest.raises(
        ValueError, match=r"commune code '99999' is not a unit of Thai Nguyen \(vintage 2025, 92 units\)"
    ):
        registry.unit_code("99999")
    with pytest.raises(ValueError, match="vintage must be one of"):
        registry.unit_code(1840, vintage=2019)
