"""Text from data never becomes markup: every section, sentence and chart shows it literally, and a real
browser runs nothing from it."""

from __future__ import annotations

import html as std_html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pagecheck
import pandas as pd
import pytest
from nbconvert.filters import markdown2html

from povanalysis.common.safe import escape_html
from povanalysis.data import registry
from povanalysis.impact.studies import Heterogeneity
from povanalysis.reports import html
from povanalysis.reports import sections as report
from povanalysis.reports.prose import goals as prose_goals
from povanalysis.reports.prose import impact as prose_impact
from povanalysis.reports.prose import targeting as prose_targeting

#: Text a household file, the unit registry or the boundaries could hold: markup, a script, a
#: Markdown link to javascript:, Markdown emphasis, quotes and an ampersand.
HOSTILE = (
    '<img src=x onerror="alert(1)">',
    "<script>alert(1)</script>",
    "[x](javascript:alert(1))",
    "**bold** _it_ `code` # not a heading",
    "Nùng \"quoted\" 'single' & <b>bold</b>",
)

#: Tags a sentence may produce once rendered (emphasis of the package's own words, the glossary's list,
#: headings and their anchor links).
TEXT_TAGS = {"p", "strong", "em", "h1", "h2", "ul", "li", "a"}
TABLE_TAGS = {"table", "thead", "tbody", "tr", "th", "td", "p"}

SECTION_TEXTS = [
    "title",
    "overview_text",
    "households_text",
    "trend_text",
    "profile_text",
    "ethnicity_text",
    "credit_text",
    "path_text",
]


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.chunks: list[str] = []
        self.code = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self.code += tag in ("script", "style")

    def handle_endtag(self, tag):
        self.code -= tag in ("script", "style")

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        if not self.code:  # the text a reader sees, not the page's scripts and styles
            self.chunks.append(data)


def _read(markup: str) -> tuple[list[tuple[str, dict]], str]:
    """The tags of some HTML and its text as a reader sees it (entities decoded, spaces collapsed)."""
    parser = _Markup()
    parser.feed(markup)
    parser.close()
    return parser.tags, " ".join("".join(parser.chunks).split())


def _assert_shown_literally(markup: str, payload: str, allowed: set[str]) -> None:
    tags, text = _read(markup)
    assert " ".join(payload.split()) in text, f"{payload!r} is not shown as text in:\n{markup}"
    for tag, attrs in tags:
        assert tag in allowed, f"<{tag}> made from data in:\n{markup}"
        for key, value in attrs.items():
            assert not key.startswith("on"), f"event handler {key} in:\n{markup}"
            assert key not in ("href", "src") or (value or "").startswith("#"), f"{key}={value!r} in:\n{markup}"


def _strings(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


# ----------------------------------------------------------------------------- sections and sentences


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("payload", HOSTILE)
@pytest.mark.parametrize("builder", SECTION_TEXTS)
def test_section_texts_show_data_literally(hostile, builder, payload, lang):
    text = getattr(report, builder)(hostile(payload), lang=lang)
    _assert_shown_literally(markdown2html(text.data), payload, TEXT_TAGS)


@pytest.mark.parametrize("payload", HOSTILE)
def test_sections_with_their_headings_show_data_literally(hostile, payload):
    ctx = hostile(payload)
    for key in ("overview", "trend", "profile", "ethnicity", "credit", "projections"):
        _assert_shown_literally(markdown2html(report.section(key, ctx).data), payload, TEXT_TAGS)


@pytest.mark.parametrize("payload", HOSTILE)
def test_ethnicity_table_shows_data_literally(hostile, payload):
    table = report.ethnicity_table(hostile(payload), lang="vi").data
    _assert_shown_literally(table, payload, TABLE_TAGS)


@pytest.mark.parametrize("payload", HOSTILE)
@pytest.mark.parametrize("builder", ["rate_figure", "map_figure", "path_figure"])
def test_names_in_charts_show_literally(hostile, builder, payload):
    # plotly reads a subset of HTML in titles, legends and hover text, and decodes entities: the
    # escaped name is what shows the name as typed
    fig = getattr(report, builder)(hostile(payload), lang="vi")
    strings = list(_strings(json.loads(fig.to_json())))
    shown = escape_html(payload)
    assert any(shown in s for s in strings), builder
    if shown != payload:
        assert not any(payload in s for s in strings), builder


@pytest.mark.parametrize("payload", HOSTILE)
def test_prose_shows_names_from_data_literally(payload, monkeypatch):
    units = registry.units().copy()
    units.loc[units["commune_code"] == "01843", "name"] = payload
    monkeypatch.setattr(registry, "units", lambda *args, **kwargs: units)
    index = pd.DataFrame({"commune_code": ["01840", "01843"], "rank": [2, 1]})
    texts = [prose_targeting.priority_text(index, n=1, lang="vi")]
    table = pd.DataFrame({"target": [payload], "drift": [0.9], "trend": [0.4]})
    texts += [prose_goals.p_meet_text(table, margin=0.2, lang=lang) for lang in ("vi", "en")]
    tests = pd.DataFrame({"by": [payload], "df": [0], "df_denom": [0], "stat": [0.0], "pvalue": [1.0]})
    groups = Heterogeneity(pd.DataFrame(), tests, "did", "exit", "poor", "not_yet")
    texts += [prose_impact.heterogeneity_text(groups, lang) for lang in ("vi", "en")]
    for text in texts:
        _assert_shown_literally(markdown2html(text), payload, TEXT_TAGS)


# ----------------------------------------------------------------------------- in a real browser

CHROMIUM = pagecheck.CHROMIUM

#: Payloads that change the page's title if they ever run.
RUNS = {
    "img": "<img src=x onerror=\"document.title='PWNED img'\">",
    "script": "<script>document.title='PWNED script'</script>",
    "link": "[lien](javascript:document.title='PWNED link')",
    "svg": "<svg onload=\"document.title='PWNED svg'\"></svg>",
}


def _dump_dom(page: Path, profile: Path) -> tuple[str, str]:
    """The DOM of ``page`` after its scripts ran, and the browser's console log."""
    return pagecheck.dump_dom(page, profile)


def _console(log: str) -> list[str]:
    """Errors and refusals in the browser's console log."""
    lines = [line for line in log.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    return [line for line in lines if re.search(r"Uncaught|Error|Content Security Policy|Failed to load|ERR_", line)]


def _output(obj) -> nbformat.NotebookNode:
    """The display output a notebook cell would hold for a section (Markdown, HTML) or a chart."""
    if hasattr(obj, "to_plotly_json"):
        data = {html.PLOTLY_MIME: json.loads(obj.to_json()), "text/plain": "Figure"}
    elif type(obj).__name__ == "Markdown":
        data = {"text/markdown": obj.data, "text/plain": "<Markdown>"}
    else:
        data = {"text/html": obj.data, "text/plain": "<HTML>"}
    return nbformat.v4.new_output("display_data", data=data)


def _page(folder: Path, outputs: list, *, title: str) -> Path:
    nb = nbformat.v4.new_notebook()
    for out in outputs:
        cell = nbformat.v4.new_code_cell("report.section(...)")
        cell.outputs = [out]
        nb.cells.append(cell)
    html.copy_plotly_js(folder / "assets")
    page = folder / "page.html"
    page.write_text(html.export(nb, lang="vi", title=title, plotly_src="assets/plotly.min.js"), encoding="utf-8")
    return page


def _title(dom: str) -> str:
    return std_html.unescape(re.search(r"<title>(.*?)</title>", dom, re.S).group(1))


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian package 'chromium')")
def test_hostile_names_run_nothing_and_show_as_typed_in_a_browser(hostile, tmp_path):
    ctx = hostile(RUNS["img"])
    ctx.ethnicity.loc[ctx.ethnicity["ethnicity"] == RUNS["img"], "ethnicity"] = RUNS["script"]
    ctx.unit["predecessors"] = f"{RUNS['link']}|{RUNS['svg']}"
    shown = [
        report.title(ctx),
        report.section("overview", ctx),
        report.section("ethnicity", ctx),
        report.ethnicity_table(ctx),
        report.section("credit", ctx),
        report.rate_figure(ctx),
        report.map_figure(ctx),
        report.section("projections", ctx),
        report.path_figure(ctx),
    ]
    page = _page(tmp_path, [_output(s) for s in shown], title=ctx.name)
    dom, log = _dump_dom(page, tmp_path / "profile")
    assert _title(dom) == RUNS["img"]  # unchanged: no payload ran
    tags, text = _read(dom.split("<body", 1)[1])
    for payload in RUNS.values():
        assert payload in text, payload  # shown as typed
    assert not [t for t, attrs in tags if t in ("img", "svg") and any(k.startswith("on") for k in attrs)]
    assert not [attrs for t, attrs in tags if t == "a" and "javascript:" in (attrs.get("href") or "")]
    # the charts still draw under the page's Content-Security-Policy, and nothing was refused
    slots, _ = html.chart_slots(page.read_text(encoding="utf-8"))
    assert slots == 3 and dom.count('class="main-svg"') >= slots
    assert _console(log) == []


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian package 'chromium')")
def test_page_policy_blocks_markup_that_escaped_escaping(tmp_path):
    import plotly.graph_objects as go

    raw = RUNS["script"] + RUNS["img"] + RUNS["svg"]  # as if a section had forgotten to escape
    outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": f"<p>{raw}</p>"}),
        _output(go.Figure(go.Bar(x=["Tày", "Nùng"], y=[3, 4]))),
    ]
    page = _page(tmp_path, outputs, title="Trang kiểm tra")
    dom, log = _dump_dom(page, tmp_path / "profile")
    assert _title(dom) == "Trang kiểm tra"
    assert dom.count('class="main-svg"') >= 1  # the page's own chart script still runs
    refused = [line for line in _console(log) if "Content Security Policy" in line]
    assert refused, _console(log)
