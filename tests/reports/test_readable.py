"""Tables for reading: formats, missing values, booleans, cutting, escaping, and what no frame can make them show."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import pandas as hpd

from povanalysis.reports.readable import KINDS, MISSING, Column, format_cell, readable

RAW = re.compile(r"NaN|nan\b|<NA>|None|True|False|e\+\d|e-\d|inf\b|rows ×")


def _visible(html: str) -> str:
    """The text a reader sees: tags and the stylesheet removed."""
    html = re.sub(r"<style>.*?</style>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_numbers_in_vietnamese_and_english():
    t = pd.DataFrame({"n": [42903, 7], "r": [0.05463, 1.0], "p": [-1.25, 3.0], "m": [534956300.0, 0.0]})
    cols = [
        Column("n", "Số hộ (hộ)", "Households", "count"),
        Column("r", "Tỷ lệ (%)", "Rate (%)", "percent", digits=2),
        Column("p", "Thay đổi (điểm %)", "Change (points)", "points", sign=True),
        Column("m", "Số tiền (triệu đồng)", "Amount (million VND)", "money", scale=1e-6, digits=1),
    ]
    vi = readable(t, cols).frame
    assert vi.to_dict("list") == {
        "Số hộ (hộ)": ["42.903", "7"],
        "Tỷ lệ (%)": ["5,46%", "100,00%"],
        "Thay đổi (điểm %)": ["−1,2", "+3,0"],
        "Số tiền (triệu đồng)": ["535,0", "0,0"],
    }
    en = readable(t, cols, lang="en").frame
    assert list(en.columns) == ["Households", "Rate (%)", "Change (points)", "Amount (million VND)"]
    assert en.iloc[0].tolist() == ["42,903", "5.46%", "−1.2", "535.0"]


def test_missing_booleans_codes_and_marks():
    t = pd.DataFrame(
        {
            "code": pd.Series(["01840", None], dtype=object),
            "n": pd.array([5, pd.NA], dtype="Int64"),
            "flag": pd.array([True, pd.NA], dtype="boolean"),
            "x": [np.inf, np.nan],
            "mark": pd.Series(["< 10", 25], dtype=object),
        }
    )
    cols = [
        Column("code", "Mã", "Code", "code"),
        Column("n", "N", "N", "count"),
        Column("flag", "Cờ", "Flag", "yesno"),
        Column("x", "X", "X", "ratio"),
        Column("mark", "Hộ (hộ)", "Households", "count"),
    ]
    r = readable(t, cols)
    assert r.frame.iloc[0].tolist() == ["01840", "5", "Có", MISSING, "< 10"]
    assert r.frame.iloc[1].tolist() == [MISSING, MISSING, MISSING, MISSING, "25"]
    assert r.sheet.iloc[0].tolist() == ["01840", 5, "Có", None, "< 10"]
    assert r.sheet.iloc[1].tolist() == [None, None, None, None, 25]
    assert format_cell(False, Column("b", "B", "B", "count"), "en") == "No"


def test_negative_zero_loses_its_sign_and_rounding_is_what_is_shown():
    c = Column("p", "P", "P", "points", digits=1)
    assert format_cell(-0.04, c) == "0,0"
    assert format_cell(-0.06, c) == "−0,1"
    r = readable(pd.DataFrame({"s": [0.123456]}), [Column("s", "S (%)", "S (%)", "percent", digits=1)])
    assert r.sheet.iloc[0, 0] == 12.3  # the workbook is never more precise than the page


def test_cut_to_top_rows_with_a_sentence_and_the_full_table_kept():
    t = pd.DataFrame({"name": [f"Xã {i}" for i in range(92)], "n": range(92)})
    cols = [Column("name", "Xã, phường", "Commune", "text"), Column("n", "Số hộ (hộ)", "Households", "count")]
    r = readable(t, cols, top=10, note="Nguồn: kết quả rà soát.")
    html = r.to_html()
    assert html.count("<tr>") == 11  # the header and 10 rows
    assert "Xã 9<" in html and "Xã 10<" not in html
    assert "Bảng chỉ hiện 10 dòng đầu trong 92 dòng; bảng đầy đủ có trong tệp Excel" in html
    assert "Nguồn: kết quả rà soát." in html
    assert len(r.frame) == len(r.sheet) == 92 and r.shown == 10
    assert "The first 10 of 92 rows" in readable(t, cols, top=10, lang="en").to_html()
    assert "dòng đầu" not in readable(t, cols, top=100).to_html()
    assert r._repr_html_() == html


def test_fits_the_page_column():
    html = readable(pd.DataFrame({"a": ["x"]}), [Column("a", "A", "A")]).to_html()
    assert "width: 100%" in html and "max-width: 960px" in html and "overflow-wrap: anywhere" in html
    assert "@media print" in html


def test_hostile_text_stays_escaped():
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)> & "q"'
    t = pd.DataFrame({"name": [evil], "n": [1]})
    cols = [Column("name", "<b>Tên</b>", "Name", "text"), Column("n", "N", "N", "count")]
    html = readable(t, cols, caption="<i>c</i>", note="<u>n</u>").to_html()
    assert "<script>alert" not in html and "<img" not in html and "<b>Tên" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "&lt;i&gt;c&lt;/i&gt;" in html and "&lt;u&gt;n&lt;/u&gt;" in html


def test_errors_name_the_argument():
    cols = [Column("a", "A", "A")]
    with pytest.raises(ValueError, match=r"lacks the columns \['a'\]"):
        readable(pd.DataFrame({"b": [1]}), cols)
    with pytest.raises(ValueError, match="kind must be one of"):
        Column("a", "A", "A", "money VND")
    with pytest.raises(ValueError, match="same header twice"):
        readable(pd.DataFrame({"a": [1], "b": [2]}), [Column("a", "A", "A"), Column("b", "A", "B")])
    with pytest.raises(ValueError, match="'top' should be at least 1"):
        readable(pd.DataFrame({"a": [1]}), cols, top=0)
    with pytest.raises(TypeError, match="should be a DataFrame"):
        readable([1], cols)
    with pytest.raises(ValueError, match="lang must be one of"):
        readable(pd.DataFrame({"a": [1]}), cols, lang="fr")


_cells = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e20, max_value=1e20),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.booleans(),
    st.just(None),
    st.just(pd.NA),
    st.just(np.nan),
)


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(st.lists(_cells, min_size=3, max_size=3), min_size=1, max_size=12),
    kinds=st.lists(st.sampled_from(KINDS), min_size=3, max_size=3),
    digits=st.lists(st.one_of(st.none(), st.integers(0, 4)), min_size=3, max_size=3),
    scale=st.sampled_from([1.0, 100.0, 1e-6, 1e-9]),
    lang=st.sampled_from(["vi", "en"]),
)
# a share so large that it overflows when written in percent (once printed "inf%")
@example(
    values=[[0.0, 0.0, 0.0], [0.0, 0.0, 1.797693134862316e306]],
    kinds=["count", "count", "percent"],
    digits=[None, None, None],
    scale=1.0,
    lang="vi",
)
def test_no_frame_shows_raw_values(values, kinds, digits, scale, lang):
    frame = pd.DataFrame(values, columns=["a", "b", "c"], dtype=object)
    cols = [Column(s, f"{s} vi", f"{s} en", k, d, scale) for s, k, d in zip("abc", kinds, digits)]
    r = readable(frame, cols, lang=lang, top=5)
    text = _visible(r.to_html())
    assert not RAW.search(text), text
    for v in r.frame.to_numpy().ravel():
        assert isinstance(v, str) and v and not RAW.search(v)


@settings(max_examples=50, deadline=None)
@given(
    hpd.data_frames(
        [
            hpd.column("f", dtype=float),
            hpd.column("b", dtype=bool),
            hpd.column("i", elements=st.integers(-(10**12), 10**12)),
        ],
    ),
    st.sampled_from(["vi", "en"]),
)
def test_typed_frames_never_show_raw_values(frame, lang):
    frame = frame.assign(n=pd.array([None] * len(frame), dtype="Float64"), o=pd.array([pd.NA] * len(frame), "boolean"))
    cols = [
        Column("f", "F", "F", "ratio"),
        Column("b", "B", "B", "yesno"),
        Column("i", "I", "I", "money"),
        Column("n", "N", "N", "percent"),
        Column("o", "O", "O", "yesno"),
    ]
    assert not RAW.search(_visible(readable(frame, cols, lang=lang).to_html()))


@given(st.text(min_size=1, max_size=40))
def test_any_text_is_escaped(text):
    html = readable(pd.DataFrame({"t": [text]}), [Column("t", "T", "T")]).to_html()
    body = html.split("<tbody>")[1].split("</tbody>")[0]
    cell = re.fullmatch(r'<tr><td class="txt">(.*)</td></tr>', body, flags=re.S).group(1)
    assert "<" not in cell and ">" not in cell
