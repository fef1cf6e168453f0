"""Every published page read as an official reads it: offline Chromium, a 1280 px window, then printed on A4.

The batch runs on the test data (all communes, the five province pages and the index); a
headless Chromium with no network opens each page from ``file://`` (see ``tests/pagecheck.py``)
and the tests ask what a reader would notice: a page wider than the window, a chart that did
not draw, an error in the console, a request leaving the computer, raw-notebook residue in
the text (NaN, ``<NA>``, True/False, scientific notation, "92 rows × 19 columns", truncated
cells, snake_case column names, dot decimals in Vietnamese), and tables cut at the right edge
of an A4 page when a province page is printed.  A report the batch could not build fails a test
of its own; the pages it did build are read all the same.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pagecheck
import pytest

from povanalysis import config
from povanalysis.data import pipeline, registry
from povanalysis.reports import batch, prepare

pytestmark = pytest.mark.skipif(
    pagecheck.CHROMIUM is None, reason="Chromium is not installed (Debian package 'chromium')"
)

ARTIFACTS = config.PROJ_ROOT / "tests" / "_artifacts"

# What a page must not show: each pattern with the reason a reader would give.
RESIDUE = {
    r"\bNaN\b|\bnan\b": "a missing value printed as NaN",
    r"<NA>|\bNaT\b|\bNone\b": "a missing value printed by pandas",
    r"\bTrue\b|\bFalse\b": "a boolean printed as True/False",
    r"\d(?:\.\d+)?e[+-]\d{2}\b": "scientific notation",
    r"\d+ rows × \d+ columns|\brows × ": "pandas' table size footer",
    r"\w\.\.\.(?:\s|\)|$)|\w…\)": "a truncated cell",
    # a file name the page points the reader to ("annex_2021.xlsx") is what the reader will open, not a
    # column name: a snake_case word followed by a file extension is left alone
    r"\b[a-z]+(?:_[a-z0-9]+)+\b(?!\.(?:xlsx|xls|csv|parquet|json|pdf|html|zip)\b)": "a snake_case column or variable name",
    r"\[\s*'[^'\n]*',": "a Python list printed as text",
    r"\bdtype\b|\bObject\b|<bound method|<povanalysis\.": "a Python object printed as text",
}
# In Vietnamese text the decimal mark is a comma: a dot followed by one or two digits is a dot decimal.
DOT_DECIMAL = r"(?<![\d.])\d+\.\d{1,2}(?![\d.])"


@pytest.fixture(scope="module")
def batch_run(tmp_path_factory):
    """The batch on the test data; a report that fails is a failure of its own test, and every page built is read."""
    with pytest.MonkeyPatch.context() as mp:
        root = Path(os.environ.get("POVANALYSIS_DATA_DIR") or ARTIFACTS / "data")
        pipeline.ensure_demo_data(root, seed=20240, scale=0.02)
        mp.setenv("POVANALYSIS_DATA_DIR", str(root))
        mp.delenv("POVANALYSIS_BOUNDARIES", raising=False)
        frozen = prepare.code_digest()  # the prepared tables stay those of this run's code
        mp.setattr(prepare, "code_digest", lambda: frozen)
        out = tmp_path_factory.mktemp("reader-site")
        yield batch.run_batch(out, workers=2, progress=False)


@pytest.fixture(scope="module")
def site(batch_run):
    return batch_run.out


@pytest.fixture(scope="module")
def pages(site):
    paths = [
        site / "index.html",
        *sorted((site / "province").glob("*.html")),
        *sorted((site / "communes").glob("*.html")),
    ]
    with pagecheck.Browser(width=1280) as browser:
        yield {path.relative_to(site).as_posix(): browser.read(path) for path in paths}


def test_the_batch_built_every_report(batch_run):
    assert batch_run.ok, batch_run.summary()


def test_every_page_was_read(site, pages):
    assert "index.html" in pages
    # every province notebook the batch runs (01–05, and the published tables of 07)
    province = {f"{job.stem}.html" for job in batch.province_jobs(manifest={"inputs": {}})}
    assert len(province) >= 5
    assert {name for name in pages if name.startswith("province/")} == province
    assert len([name for name in pages if name.startswith("communes/")]) == len(registry.units())


def test_every_page_fits_the_window(pages):
    wide = {name: (r.scroll_width, r.wide_tables) for name, r in pages.items() if r.scroll_width > r.client_width}
    assert wide == {}


def test_every_chart_has_drawn(pages):
    assert all(r.charts >= 1 for name, r in pages.items() if not name.startswith("province/05"))
    undrawn = {name: (r.drawn, r.charts) for name, r in pages.items() if r.drawn != r.charts}
    assert undrawn == {}


def test_nothing_is_logged_as_an_error_or_fetched_from_outside(pages):
    assert {name: r.errors for name, r in pages.items() if r.errors} == {}
    assert {name: r.outside for name, r in pages.items() if r.outside} == {}


def _residue(text: str, vietnamese: bool) -> list[str]:
    found = []
    for pattern, reason in RESIDUE.items():
        found += [f"{reason}: {m.group(0)!r}" for m in re.finditer(pattern, text)]
    if vietnamese:
        found += [f"a dot decimal: {m.group(0)!r}" for m in re.finditer(DOT_DECIMAL, text)]
    return found


def test_no_raw_notebook_residue_in_the_text(pages):
    residue = {name: found for name, r in pages.items() if (found := _residue(r.text, vietnamese=True))}
    assert residue == {}


def test_the_residue_check_can_fail():
    text = (
        "Tỷ lệ 0.18% NaN <NA> True 5.349563e+08 92 rows × 19 columns UNCONFIRMED (not... rate_from dtype "
        "['annex_2021.xlsx', 'annex_2022.csv']"
    )
    reasons = {entry.split(":")[0] for entry in _residue(text, vietnamese=True)}
    assert len(reasons) == len(RESIDUE) + 1
    assert _residue("Tỷ lệ hộ nghèo 5,46% của 420.000 hộ (năm 2024).", vietnamese=True) == []
    assert _residue("Tệp annex_2021.xlsx: 280 dòng xã.", vietnamese=True) == []
    assert _residue("Cột annex_2021 và rate_from.", vietnamese=True) != []


def test_province_pages_print_on_a4_without_a_cut_table(site):
    pdfs = ARTIFACTS / "print"
    pdfs.mkdir(parents=True, exist_ok=True)
    cut = {}
    with pagecheck.Browser() as browser:
        for page in sorted((site / "province").glob("*.html")):
            pdf = pdfs / (page.stem + ".pdf")
            tables = browser.print_reading(page, pdf)
            assert pdf.stat().st_size > 10_000
            if tables:
                cut[page.name] = tables
    assert cut == {}
