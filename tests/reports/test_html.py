"""Published pages: code hidden, charts drawn from one shared plotly.js, Vietnamese, printable, nothing disclosed."""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from povanalysis import config
from povanalysis.data import pipeline
from povanalysis.reports import batch, html, prepare

ARTIFACTS = config.PROJ_ROOT / "tests" / "_artifacts"
REAL_BOUNDARIES = config.PROJ_ROOT.parent / "shared" / "data" / "thai-nguyen" / "communes_2025.geojson"
CODES = ["01840", "05665", "01879"]


def _data_root() -> Path:
    root = Path(os.environ.get("POVANALYSIS_DATA_DIR") or ARTIFACTS / "data")
    pipeline.ensure_demo_data(root, seed=20240, scale=0.02)
    return root


@pytest.fixture(scope="module")
def data_root():
    with pytest.MonkeyPatch.context() as mp:
        root = _data_root()
        mp.setenv("POVANALYSIS_DATA_DIR", str(root))
        mp.delenv("POVANALYSIS_BOUNDARIES", raising=False)
        frozen = prepare.code_digest()
        mp.setattr(prepare, "code_digest", lambda: frozen)
        prepare.ensure_prepared()
        yield root


@pytest.fixture(scope="module")
def report_set(data_root, tmp_path_factory):
    """Three commune reports, the province overview and the index."""
    out = tmp_path_factory.mktemp("site")
    manifest = prepare.ensure_prepared()
    jobs = batch.province_jobs(
        manifest=manifest, notebooks=[config.PROJ_ROOT / "notebooks" / "01-province-overview.ipynb"]
    )
    jobs += batch.commune_jobs(CODES, manifest=manifest, review_year=2025)
    result = batch.run_batch(out, jobs=jobs, workers=2, progress=False)
    assert result.ok, result.summary()
    return out


def _pages(out: Path) -> list[Path]:
    return sorted(out.glob("*.html")) + sorted(out.glob("communes/*.html")) + sorted(out.glob("province/*.html"))


def test_every_page_is_offline_vietnamese_printable_and_without_code(report_set):
    pages = _pages(report_set)
    assert [p.relative_to(report_set).as_posix() for p in pages] == [
        "index.html",
        "communes/01840-phuong-duc-xuan.html",
        "communes/01879-xa-cao-minh.html",
        "communes/05665-xa-van-lang.html",
        "province/01-province-overview.html",
    ]
    js = report_set / "assets" / "plotly.min.js"
    assert js.read_bytes() == html.plotly_js_source().read_bytes()
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert re.match(r'<!DOCTYPE html>\s*<html lang="vi">', text), page
        assert '<meta charset="utf-8"' in text and "@media print" in text
        assert unicodedata.is_normalized("NFC", text)
        # no resource from the network, plotly.js once for the whole set (a relative link, not inlined)
        assert not re.search(r"""(src|href)=["']https?://""", text), page
        assert len(re.findall(r'<script src="[^"]*plotly\.min\.js"', text)) <= 1
        for src in re.findall(r'<script src="([^"]+)"', text):
            assert (page.parent / src).resolve() == js.resolve()
        assert len(text.encode("utf-8")) < 1_500_000 and "plotly.js v" not in text
    commune = (report_set / "communes" / "01840-phuong-duc-xuan.html").read_text(encoding="utf-8")
    assert "<h1" in commune and "Phường Đức Xuân" in commune and "Tỷ lệ hộ nghèo" in commune
    assert "commune_context" not in commune and "commune_code =" not in commune  # no code, no parameters
    assert '<a href="../index.html">' in commune


def test_pages_name_the_alkire_foster_headcount_and_explain_it(report_set):
    # H counts households deprived in >= 3 of 12 indicators whatever their income: never the poor-household rate.
    for rel in ("communes/01840-phuong-duc-xuan.html", "province/01-province-overview.html"):
        page = (report_set / rel).read_text(encoding="utf-8")
        assert "<strong>Tỷ lệ hộ nghèo</strong> (số liệu chính thức)" in page, rel  # the glossary
        assert "<strong>Tỷ lệ hộ thiếu hụt đa chiều H (AF, k = 3/12)</strong>" in page, rel
        assert "H <strong>không phải là tỷ lệ hộ nghèo</strong>" in page, rel
        assert "tỷ lệ nghèo đa chiều" not in page.lower(), rel
    # 05665 has 20 deprived households at the 2025 review in the test data: its H is printed;
    # 01879 (Xã Cao Minh) has 8, under the limit: its profile is withheld
    commune = (report_set / "communes" / "05665-xa-van-lang.html").read_text(encoding="utf-8")
    assert re.search(r"Năm 2025: tỷ lệ hộ thiếu hụt đa chiều H \(AF, k = 3/12\) = \d+,\d\d%", commune)
    small = next((report_set / "communes").glob("01879-*.html")).read_text(encoding="utf-8")
    assert "số hộ thiếu hụt đa chiều dưới 10 hộ: hồ sơ thiếu hụt không công bố" in small
    assert not re.search(r"tỷ lệ hộ thiếu hụt đa chiều H \(AF, k = 3/12\) = \d", small)
    province = (report_set / "province" / "01-province-overview.html").read_text(encoding="utf-8")
    heads = re.findall(r"<th>([^<]*)</th>", province)
    assert {
        "Tỷ lệ hộ nghèo",
        "Tỷ lệ hộ thiếu hụt đa chiều H (AF, k = 3/12)",
        "Cường độ thiếu hụt A (AF, k = 3/12)",
        "Chỉ số M0 (AF, k = 3/12)",
    } <= set(heads) and not {"H", "A", "M0"} & set(heads)


def test_no_chart_slot_is_empty(report_set):
    for page in sorted(report_set.glob("*/*.html")):
        executed = nbformat.read(page.with_suffix(".ipynb"), as_version=4)
        figures = sum(html.PLOTLY_MIME in o.get("data", {}) for c in executed.cells for o in c.get("outputs", []))
        slots, drawn = html.chart_slots(page.read_text(encoding="utf-8"))
        assert figures >= 2 and slots == drawn == figures, page
    assert html.chart_slots('<div id="a" class="plotly-graph-div"></div>') == (1, 0)


@pytest.mark.filterwarnings("ignore:Your element with mimetype")
def test_export_refuses_a_page_with_a_missing_chart(report_set, monkeypatch):
    executed = nbformat.read(report_set / "communes" / "01840-phuong-duc-xuan.ipynb", as_version=4)
    monkeypatch.setattr(
        html,
        "render_figures",
        lambda nb, prefix="chart": sum(
            html.PLOTLY_MIME in o.get("data", {}) for c in nb.cells for o in c.get("outputs", [])
        ),
    )
    with pytest.raises(RuntimeError, match=r"charts in the notebook but 0 chart slots and 0 drawn in the page"):
        html.export(executed, title="x", plotly_src="../assets/plotly.min.js")


def test_export_of_a_small_notebook():
    import plotly.graph_objects as go

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("secret_code_line()")
    fig = go.Figure(go.Bar(x=["Tày"], y=[3])).to_plotly_json()
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={html.PLOTLY_MIME: fig}),
        nbformat.v4.new_output("stream", name="stderr", text="a warning\n"),
    ]
    md = nbformat.v4.new_markdown_cell("# Xã Văn Lăng")
    nb.cells = [md, cell]
    page = html.export(nb, lang="en", title="Xã Văn Lăng", plotly_src="assets/plotly.min.js")
    assert re.match(r'<!DOCTYPE html>\s*<html lang="en">', page) and "<title>Xã Văn Lăng</title>" in page
    assert "secret_code_line" not in page and "a warning" not in page
    assert html.chart_slots(page) == (1, 1) and '<script src="assets/plotly.min.js">' in page
    assert html.PLOTLY_MIME in nb.cells[1].outputs[0].data and "text/html" not in nb.cells[1].outputs[0].data
    with pytest.raises(RuntimeError, match="the notebook has 1 charts but no plotly_src was given"):
        html.export(nb, title="x", plotly_src=None)
    with pytest.raises(ValueError, match="lang must be one of"):
        html.export(nb, title="x", lang="fr")


def test_disclosure_scan_of_every_page(report_set, data_root):
    households = pd.read_parquet(data_root / "raw" / "households.parquet", columns=["household_id", "income_pc"])
    pages = _pages(report_set)
    assert html.disclosure_scan(pages, households) == []
    # the scan can fail: an identifier and an income written in a page are found
    planted = report_set / "planted.html"
    hid, income = households["household_id"].iloc[7], int(households["income_pc"].iloc[7])
    planted.write_text(f"<p>{hid}: {income:,} đồng</p>".replace(",", "."), encoding="utf-8")
    try:
        assert html.disclosure_scan([planted], households) == [
            (str(planted), "household_id", hid),
            (str(planted), "income", str(income)),
        ]
    finally:
        planted.unlink()


def test_scan_page_reads_every_writing_of_an_income():
    incomes = {"4385000"}
    for text in ["4.385.000", "4,385,000", "4385000", "4385000.0", '{"x": [4385000.0]}']:
        assert html.scan_page(text, incomes=incomes) == [("income", "4385000")], text
    for text in ["14.385.000", "4385000.5", "0.4385000", "43850001"]:
        assert html.scan_page(text, incomes=incomes) == [], text


def test_ethnic_groups_are_pooled_until_no_small_cell():
    rows = pd.DataFrame(
        {
            "commune_code": "01840",
            "review_year": 2025,
            "size": 3,
            "ethnicity": ["Kinh"] * 40 + ["Tày"] * 12 + ["Dao"] * 5 + ["Nùng"] * 3,
            "poverty_class": ["poor"] * 10 + ["not_poor"] * 50,
        }
    )
    t = prepare.ethnic_groups(rows, 10)
    assert t[["ethnicity", "households", "poor", "suppressed"]].to_dict("records") == [
        {"ethnicity": "Kinh", "households": 40, "poor": 10, "suppressed": False},
        {"ethnicity": "other", "households": 20, "poor": 0, "suppressed": False},
    ]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=7), st.integers(min_value=2, max_value=15))
def test_pooling_never_shows_or_reveals_a_small_group(sizes, min_cell):
    names = [f"g{i}" for i in range(len(sizes))]
    rows = pd.DataFrame(
        {
            "commune_code": "01840",
            "review_year": 2025,
            "size": 1,
            "ethnicity": np.repeat(names, sizes),
            "poverty_class": "not_poor",
        }
    )
    t = prepare.ethnic_groups(rows, min_cell)
    assert t["households"].sum() == sum(sizes)
    shown = t[~t["suppressed"]]
    assert (shown["households"] >= min_cell).all()
    pooled = [s for s in sizes if s < min_cell]
    if pooled:
        # the pool holds every small group and is itself publishable, or everything is pooled
        pool = t[t["ethnicity"] == "other"]
        assert len(pool) == 1 and (pool["households"].iloc[0] >= min_cell or len(t) == 1)
        assert pool["households"].iloc[0] >= sum(pooled)


def test_credit_cells_under_the_limit_are_suppressed_with_their_complement():
    classified = pd.DataFrame({"household_id": [f"H{i}" for i in range(40)], "commune_code": "01840"})
    programme = ["poor"] * 25 + ["near_poor"] * 12 + ["newly_escaped"] * 3
    loans = pd.DataFrame(
        {
            "household_id": [f"H{i}" for i in range(40)],
            "programme": programme,
            "disbursed": pd.Timestamp("2024-03-01"),
            "amount": 50e6,
        }
    )
    t = prepare.credit_table(classified, loans, 10).set_index("programme")
    assert t["borrowers"].to_dict() == {"all": 40, "near_poor": 12, "newly_escaped": 3, "poor": 25}
    # newly_escaped (3) is small; near_poor, the next smallest, is hidden too so 3 = 40 - 25 - 12 cannot be done
    assert t["suppressed"].to_dict() == {"all": False, "near_poor": True, "newly_escaped": True, "poor": False}
    with pytest.raises(ValueError, match="1 loans go to households absent from the review file, the first to 'X'"):
        prepare.credit_table(classified, pd.concat([loans, loans.iloc[:1].assign(household_id="X")]), 10)


def test_index_table_and_xlsx(report_set):
    from openpyxl import load_workbook

    index = (report_set / "index.html").read_text(encoding="utf-8")
    body = index.split("<tbody>")[1].split("</tbody>")[0]
    assert body.count("<tr>") == 92
    assert index.count('href="communes/') == 3 and 'href="province/01-province-overview.html"' in index
    assert 'class="report-table sortable"' in index and 'addEventListener("click"' in index
    assert 'href="key-figures.xlsx"' in index
    wb = load_workbook(report_set / "key-figures.xlsx")
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    assert header[:4] == ["Mã", "Xã, phường", "Loại", "Địa bàn cũ"] and "Tỷ lệ hộ nghèo" in header
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 92 and rows[0][:2] == ("01840", "Phường Đức Xuân")
    figures = prepare.key_figures(review_year=2025)
    hidden = figures["households"].isna()
    col = header.index("Số hộ")
    assert [r[col] is None for r in rows] == hidden.tolist()
    assert all(r[col] is None or r[col] >= config.MIN_CELL for r in rows)


@pytest.mark.skipif(not REAL_BOUNDARIES.exists(), reason=f"real boundaries not found at {REAL_BOUNDARIES}")
def test_page_with_the_real_boundaries_stays_small(data_root, tmp_path, monkeypatch):
    root = tmp_path / "data"
    shutil.copytree(data_root / "raw", root / "raw")
    shutil.copytree(data_root / "processed", root / "processed", ignore=shutil.ignore_patterns("report"))
    monkeypatch.setenv("POVANALYSIS_DATA_DIR", str(root))
    monkeypatch.setenv("POVANALYSIS_BOUNDARIES", str(REAL_BOUNDARIES))
    result = batch.run_batch(tmp_path / "site", communes=["01840"], workers=1, province=False, progress=False)
    assert result.ok, result.summary()
    assert prepare.read_manifest()["sections"]["map"]
    page = tmp_path / "site" / "communes" / "01840-phuong-duc-xuan.html"
    text = page.read_text(encoding="utf-8")
    assert "Sơ đồ minh họa" not in text  # the real map, not the schematic one
    slots, drawn = html.chart_slots(text)
    assert slots == drawn >= 5
    assert page.stat().st_size < 1_500_000


# --------------------------------------------------------------------------- the page's Content-Security-Policy


def _policy(page: str) -> dict[str, list[str]]:
    """The directives of the Content-Security-Policy a page declares in a <meta> before any script or style."""
    from html.parser import HTMLParser

    class Head(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.policy = [], None

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "meta" and (attrs.get("http-equiv") or "").lower() == "content-security-policy":
                self.policy = attrs["content"]
                tag = "policy"
            self.tags.append(tag)

    head = Head()
    head.feed(page.split("</head>")[0])
    assert head.policy, "no Content-Security-Policy in the page"
    before = head.tags[: head.tags.index("policy")]
    assert "script" not in before and "style" not in before, head.tags
    directives = {}
    for part in head.policy.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def _inline_hashes(page: str) -> dict[str, str]:
    import base64
    import hashlib

    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    return {s: "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'" for s in scripts}


def test_exported_pages_run_only_plotly_and_their_own_chart_scripts():
    import plotly.graph_objects as go

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("fig")
    fig = go.Figure(go.Bar(x=["Tày"], y=[3])).to_plotly_json()
    raw = "<p><script>document.title='x'</script></p>"  # as if a section had forgotten to escape
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={html.PLOTLY_MIME: fig}),
        nbformat.v4.new_output("display_data", data={"text/html": raw}),
    ]
    nb.cells = [cell]
    page = html.export(nb, lang="vi", title="Xã Văn Lăng", plotly_src="assets/plotly.min.js")
    policy = _policy(page)
    assert policy["default-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    assert policy["form-action"] == ["'none'"] and policy["object-src"] == ["'none'"]
    script = policy["script-src"]
    assert "'self'" in script and "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
    hashes = _inline_hashes(page)
    charts = [h for s, h in hashes.items() if "Plotly.newPlot" in s]
    assert len(charts) == 1 and set(script) == {"'self'", *charts}
    assert hashes["document.title='x'"] not in script


def test_other_pages_allow_only_the_scripts_they_are_given():
    own = "<script>sortTables();</script>"
    p = html.page(
        f"<p>Mục lục</p>{own}<script>alert(1)</script>", title="Mục lục", script_hashes=html.script_hashes(own)
    )
    script = _policy(p)["script-src"]
    hashes = _inline_hashes(p)
    assert script == [hashes["sortTables();"]]
    assert _policy(html.page("<p>x</p>", title="x"))["script-src"] == ["'none'"]
    assert _policy(html.page("<p>x</p>", title="x", plotly_src="assets/plotly.min.js"))["script-src"] == ["'self'"]
    assert html.script_hashes('<script src="a.js"></script>') == []


def test_the_base_map_stub_keeps_a_subplot_setting_inside_its_string():
    import json

    scope = '"];alert(1);//</script><script>alert(2)'
    out = html.figure_html({"data": [], "layout": {"geo": {"visible": False, "scope": scope}}}, div_id="c1")
    assert out.count("<script") == 2 and out.count("</script>") == 2  # the stub and the chart, nothing more
    stub = out.split("</script>", 1)[0]
    keys = re.findall(r't\[("(?:[^"\\]|\\.)*")\]', stub)
    assert keys and all(json.loads(k) == scope.replace(" ", "-") + "_110m" for k in keys)
