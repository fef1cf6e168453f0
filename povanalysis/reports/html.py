"""HTML pages from executed notebooks: code hidden, charts drawn offline from one shared plotly.js, printable, scanned for disclosure.

Every page declares a Content-Security-Policy (:func:`content_security_policy`): it runs the
shared plotly.js and the inline scripts the package wrote for it (allowed one by one by their
SHA-256), and nothing else, so that markup which ever escaped escaping could not run.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import re
import shutil
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat

from ..common.labels import check_lang
from ..common.safe import escape_html

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

__all__ = [
    "PLOTLY_MIME",
    "PLOTLY_JS",
    "REPORT_CSS",
    "plotly_js_source",
    "copy_plotly_js",
    "figure_html",
    "literal_labels",
    "render_figures",
    "script_hashes",
    "content_security_policy",
    "export",
    "chart_slots",
    "page",
    "scan_page",
    "disclosure_scan",
]

#: The mimetype under which plotly figures are saved in notebooks (nbconvert's HTML exporter drops it).
PLOTLY_MIME = "application/vnd.plotly.v1+json"

#: File name of the shared plotly.js in a report set's ``assets/`` folder.
PLOTLY_JS = "plotly.min.js"

#: The stylesheet of every page: a readable column on screen, A4 pages in print.
REPORT_CSS = """
:root { --ink: #1b1b1b; --muted: #5a5a5a; --rule: #d9d9d9; --accent: #0072B2; }
* { box-sizing: border-box; }
html { font-family: "Noto Sans", "Segoe UI", Arial, Helvetica, sans-serif; color: var(--ink); font-size: 16px; }
body { margin: 0; background: #fff; line-height: 1.5; }
main.report { max-width: 1000px; margin: 0 auto; padding: 1rem 1.25rem 3rem; }
nav.crumbs { font-size: 0.9rem; margin-bottom: 0.5rem; }
nav.crumbs a { color: var(--accent); text-decoration: none; }
h1 { font-size: 1.7rem; margin: 0.6rem 0 0.4rem; line-height: 1.25; }
h2 { font-size: 1.3rem; margin: 1.8rem 0 0.5rem; padding-bottom: 0.2rem; border-bottom: 2px solid var(--rule); }
h3 { font-size: 1.1rem; }
p { margin: 0.4rem 0 0.8rem; }
a.anchor-link { display: none; }
.text_cell h1 { font-size: 0.95rem; font-weight: 600; color: var(--muted); margin: 0.4rem 0 0; }
.text_cell p { font-size: 0.85rem; margin: 0.1rem 0 0.6rem; }
em { color: var(--muted); }
table.report-table, table.dataframe { border-collapse: collapse; margin: 0.5rem 0; font-size: 0.92rem; }
table.report-table th, table.report-table td, table.dataframe th, table.dataframe td {
  border-bottom: 1px solid var(--rule); padding: 0.3rem 0.6rem; text-align: right; }
table.report-table th:first-child, table.report-table td:first-child { text-align: left; }
table.report-table thead th { border-bottom: 2px solid #999; vertical-align: bottom; }
p.table-note { font-size: 0.85rem; color: var(--muted); }
.plotly-graph-div { width: 100%; }
/* the chart toolbar sits in a strip of its own above the chart, never over a long title */
.js-plotly-plot.plotly-graph-div { margin-top: 30px; }
.js-plotly-plot .plotly .modebar-container { top: -30px !important; }
.output_stderr, .output_stream { display: none; }
.cell, .output_wrapper, .output, .output_area { margin: 0; padding: 0; }
.output_subarea { max-width: 100%; overflow-x: auto; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  html { font-size: 11pt; }
  main.report { max-width: none; padding: 0; }
  nav.crumbs, .no-print { display: none; }
  h2 { break-after: avoid; }
  table, .js-plotly-plot, .plotly-graph-div, figure { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
  .modebar { display: none !important; }
}
"""

_TEMPLATE = r"""
{%- extends 'classic/base.html.j2' -%}
{%- block header -%}
<!DOCTYPE html>
<html lang="{{ resources.language_code }}">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ resources.policy | e }}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ resources.page_title | e }}</title>
{%- if resources.plotly_src %}
<script src="{{ resources.plotly_src | e }}"></script>
{%- endif %}
<style>{{ resources.report_css }}</style>
</head>
<body>
<main class="report">
{{ resources.nav_html }}
{%- endblock header -%}
{%- block footer -%}
</main>
</body>
</html>
{%- endblock footer -%}
"""

_INLINE_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.S | re.I)

_CHART_DIV = re.compile(r'<div\b[^>]*\bclass="plotly-graph-div"[^>]*>')
_ID = re.compile(r'\bid="([^"]+)"')


def plotly_js_source() -> Path:
    """The ``plotly.min.js`` shipped inside the installed plotly package."""
    import plotly

    path = Path(plotly.__file__).resolve().parent / "package_data" / PLOTLY_JS
    if not path.exists():
        raise FileNotFoundError(f"plotly.js not found at {path}: reinstall plotly")
    return path


def copy_plotly_js(folder: str | os.PathLike) -> Path:
    """Copy plotly.js once into ``folder`` (skipped when an identical copy is there); returns its path."""
    src = plotly_js_source()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / PLOTLY_JS
    if dest.exists() and dest.stat().st_size == src.stat().st_size and _sha(dest) == _sha(src):
        return dest
    tmp = folder / f".{PLOTLY_JS}.{os.getpid()}.tmp"
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)
    return dest


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def render_figures(nb: nbformat.NotebookNode, *, prefix: str = "chart") -> int:
    """Give every plotly output of ``nb`` a ``text/html`` rendering that draws it with a page-level plotly.js.

    The div ids are ``<prefix>-<cell>-<output>`` (deterministic, so two runs give the same
    page). The notebook is changed in place; returns the number of figures rendered.

    Examples
    --------
    >>> nb = nbformat.v4.new_notebook()
    >>> cell = nbformat.v4.new_code_cell("fig")
    >>> cell.outputs = [nbformat.v4.new_output("display_data", data={PLOTLY_MIME: {"data": [], "layout": {}}})]
    >>> nb.cells.append(cell)
    >>> render_figures(nb)
    1
    >>> chart_slots(cell.outputs[0].data["text/html"])
    (1, 1)
    """
    count = 0
    for i, cell in enumerate(nb.cells):
        for j, output in enumerate(cell.get("outputs", [])):
            data = output.get("data", {})
            if PLOTLY_MIME not in data:
                continue
            data["text/html"] = figure_html(data[PLOTLY_MIME], div_id=f"{prefix}-{i}-{j}")
            count += 1
    return count


def figure_html(fig: go.Figure | dict, *, div_id: str) -> str:
    """A plotly figure (Figure or its JSON dict) as a div and the script that draws it with the page's plotly.js.

    Examples
    --------
    >>> chart_slots(figure_html({"data": [{"type": "bar", "y": [1]}], "layout": {}}, div_id="c1"))
    (1, 1)
    """
    import plotly.io as pio

    fig = dict(fig.to_plotly_json() if hasattr(fig, "to_plotly_json") else fig)
    config = {"displaylogo": False, "responsive": True, **dict(fig.pop("config", None) or {})}
    return _geo_stub(fig) + pio.to_html(
        fig, include_plotlyjs=False, full_html=False, div_id=div_id, validate=False, config=config
    )


def _geo_stub(fig: dict) -> str:
    """A script giving plotly.js an empty base map for geo subplots whose base layers are all hidden.

    plotly.js fetches a world topojson from its CDN for any ``geo`` subplot holding a
    choropleth, even with ``visible=False`` and the map drawn entirely from the figure's own
    GeoJSON; offline (or from ``file://``) the fetch fails and the chart stays blank.  The
    topology is never drawn when every base layer is hidden, so an empty one, registered
    where plotly.js looks first (``window.PlotlyGeoAssets.topojson``), lets the chart draw
    with no network.  Subplots that show a base layer get no stub: they need the real map.
    """
    layout = fig.get("layout") or {}
    names = []
    for key, geo in layout.items():
        if not (key == "geo" or (key.startswith("geo") and key[3:].isdigit())) or not isinstance(geo, dict):
            continue
        if geo.get("visible", True) is not False:
            continue
        names.append(f"{str(geo.get('scope', 'world')).replace(' ', '-')}_{geo.get('resolution', 110)}m")
    if not names:
        return ""
    empty = '{"type":"Topology","objects":{},"arcs":[]}'
    keys = [json.dumps(n).replace("<", "\\u003c") for n in sorted(set(names))]  # a string, whatever the layout holds
    sets = "".join(f"t[{k}]=t[{k}]||{empty};" for k in keys)
    return (
        "<script>window.PlotlyGeoAssets=window.PlotlyGeoAssets||{topojson:{}};"
        f"(function(t){{{sets}}})(window.PlotlyGeoAssets.topojson);</script>"
    )


def literal_labels(frame: pd.DataFrame, columns: str | Sequence[str]) -> pd.DataFrame:
    """A copy of ``frame`` whose text ``columns`` show as typed in a plotly chart.

    plotly reads a subset of HTML in titles, legends and hover text (``<b>``, ``<br>``, links)
    and decodes entities, so text from data (unit names, groups) is escaped with
    :func:`povanalysis.common.safe.escape_html` before a chart is built from it.  Cells that
    are not text are left as they are.

    Examples
    --------
    >>> import pandas as pd
    >>> literal_labels(pd.DataFrame({"name": ["<b>Tày</b>", "Nùng & Dao"], "n": [1, 2]}), "name")["name"].tolist()
    ['&lt;b&gt;Tày&lt;/b&gt;', 'Nùng &amp; Dao']
    """
    columns = [columns] if isinstance(columns, str) else list(columns)
    return frame.assign(**{c: frame[c].map(lambda v: escape_html(v) if isinstance(v, str) else v) for c in columns})


def script_hashes(fragment: str) -> list[str]:
    """The Content-Security-Policy sources (``'sha256-…'``) of the inline scripts of trusted HTML.

    Only for HTML the package wrote itself (a chart of :func:`figure_html`, a page's own
    script): the policy then runs exactly these scripts.  Scripts with a ``src`` are not listed.

    Examples
    --------
    >>> script_hashes('<script>Plotly.newPlot("c1", [], {})</script><script src="a.js"></script>')
    ["'sha256-XTpsVaQ7FtX5puRpmw+0baNXp4kEuLRbBH/5MhTIPRk='"]
    """
    out = []
    for attrs, body in _INLINE_SCRIPT.findall(fragment):
        if re.search(r"\bsrc\s*=", attrs, re.I):
            continue
        digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode("ascii")
        out.append(f"'sha256-{digest}'")
    return list(dict.fromkeys(out))


def content_security_policy(*, scripts: Iterable[str] = (), plotly: bool = False) -> str:
    """The Content-Security-Policy of a page: nothing from elsewhere, only the page's own scripts.

    Scripts: the shared plotly.js when ``plotly`` (a file of the report set, ``'self'``) and
    the inline scripts whose hashes are in ``scripts`` (:func:`script_hashes`); no other
    inline script, event handler or ``javascript:`` link runs.  Styles may be inline: plotly.js
    styles its charts with ``style`` attributes and elements.  Images from the page's folder
    and ``data:``/``blob:`` URLs (plotly's "download as PNG").  No network, no form, no
    ``<base>``, no plugin.

    Examples
    --------
    >>> content_security_policy(plotly=True).split("; ")[:2]
    ["default-src 'none'", "script-src 'self'"]
    >>> content_security_policy().split("; ")[1]
    "script-src 'none'"
    """
    allowed = (["'self'"] if plotly else []) + list(dict.fromkeys(scripts))
    return "; ".join(
        [
            "default-src 'none'",
            "script-src " + (" ".join(allowed) or "'none'"),
            "style-src 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src 'none'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


def chart_slots(page_html: str) -> tuple[int, int]:
    """Number of plotly chart divs in a page and how many of them have a drawing script.

    Examples
    --------
    >>> chart_slots('<div id="a" class="plotly-graph-div"></div><script>Plotly.newPlot("a", [], {})</script>')
    (1, 1)
    """
    tags = _CHART_DIV.findall(page_html)
    ids = [m.group(1) for m in map(_ID.search, tags) if m]
    drawn = sum(1 for i in ids if re.search(r'Plotly\.newPlot\(\s*"' + re.escape(i) + '"', page_html))
    return len(tags), drawn


def _published(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A shallow copy fit for publishing: no stderr streams, no empty code cells.

    Cells and outputs are new containers (so :func:`render_figures` can add to them without
    touching ``nb``); the large payloads (figure JSON, text) are shared, not copied.
    """
    cells = []
    for cell in nb.cells:
        cell = nbformat.NotebookNode(cell)
        if cell.cell_type == "code":
            outputs = []
            for o in cell.get("outputs", []):
                if o.get("output_type") == "stream" and o.get("name") == "stderr":
                    continue
                o = nbformat.NotebookNode(o)
                if "data" in o:
                    o["data"] = nbformat.NotebookNode(o["data"])
                outputs.append(o)
            if not outputs:
                continue
            cell["outputs"] = outputs
        cells.append(cell)
    out = nbformat.NotebookNode(nb)
    out["cells"] = cells
    out["metadata"] = copy.deepcopy(nb.get("metadata", {}))
    return out


_LOCAL = threading.local()


def _exporter():
    """One HTML exporter per thread: building it compiles the templates, which costs more than exporting.

    Without nbconvert's default preprocessors: with no configuration they change nothing in an
    executed notebook (cell tags, regular expressions, highlighting of inputs the page hides),
    and each is followed by a validation of the whole notebook, a third of the export's time.
    """
    exporter = getattr(_LOCAL, "exporter", None)
    if exporter is None:
        from jinja2 import DictLoader
        from nbconvert import HTMLExporter

        exporter = HTMLExporter(
            template_name="basic",
            extra_loaders=[DictLoader({"povanalysis.reports.html.j2": _TEMPLATE})],
            template_file="povanalysis.reports.html.j2",
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
            default_preprocessors=[],
        )
        _LOCAL.exporter = exporter
    return exporter


def export(
    nb: nbformat.NotebookNode,
    *,
    lang: str = "vi",
    title: str,
    plotly_src: str | None = "assets/plotly.min.js",
    nav_html: str = "",
) -> str:
    """The executed notebook as one HTML page: outputs only, charts drawn, printable.

    Parameters
    ----------
    nb : NotebookNode
        An executed notebook (not modified).
    lang : {"vi", "en"}
        Sets ``<html lang>``.
    title : str
        The page title.
    plotly_src : str or None
        URL of the shared plotly.js, relative to the page (e.g. ``../assets/plotly.min.js``);
        None only for pages without charts.
    nav_html : str
        Trusted HTML put above the content (e.g. a link back to the index).

    Returns
    -------
    str
        The page, to be written as UTF-8.

    Raises
    ------
    RuntimeError
        A chart would be missing: a plotly output without a drawn slot, or charts with no
        ``plotly_src``.
    """
    check_lang(lang)
    page_nb = _published(nb)
    n_figures = render_figures(page_nb)
    allowed = []
    for cell in page_nb.cells:
        for output in cell.get("outputs", []):
            # the page draws from text/html; dropping the figure JSON spares nbconvert copying it
            if output.get("data", {}).pop(PLOTLY_MIME, None) is not None:
                allowed += script_hashes(output["data"].get("text/html", ""))  # the charts the package rendered
    if n_figures and not plotly_src:
        raise RuntimeError(f"the notebook has {n_figures} charts but no plotly_src was given")
    exporter = _exporter()
    exporter.language_code = lang
    resources = {
        "language_code": lang,
        "page_title": title,
        "plotly_src": plotly_src,
        "report_css": REPORT_CSS,
        "nav_html": nav_html,
        "metadata": {"name": title},
        "policy": content_security_policy(scripts=allowed, plotly=bool(plotly_src)),
    }
    body, _ = exporter.from_notebook_node(page_nb, resources=resources)
    slots, drawn = chart_slots(body)
    if slots != n_figures or drawn != n_figures:
        raise RuntimeError(f"{n_figures} charts in the notebook but {slots} chart slots and {drawn} drawn in the page")
    missing = set(allowed) - set(script_hashes(body))
    if missing:
        raise RuntimeError(
            f"{len(missing)} chart scripts changed on the way into the page: the policy would block them"
        )
    return body


def page(
    body_html: str,
    *,
    lang: str = "vi",
    title: str,
    plotly_src: str | None = None,
    head_html: str = "",
    script_hashes: Iterable[str] = (),
) -> str:
    """A page of the report set around ready-made HTML (same stylesheet, head and policy as :func:`export`).

    ``body_html`` and ``head_html`` are trusted HTML, their text from data already escaped;
    of their inline scripts only those whose hashes are in ``script_hashes`` run
    (:func:`povanalysis.reports.html.script_hashes` of the HTML the package wrote).

    Examples
    --------
    >>> p = page("<h1>Mục lục</h1>", title="Mục lục")
    >>> p.startswith('<!DOCTYPE html>\\n<html lang="vi">') and '<meta charset="utf-8">' in p
    True
    """
    check_lang(lang)
    script = f'<script src="{escape_html(plotly_src)}"></script>\n' if plotly_src else ""
    policy = escape_html(content_security_policy(scripts=script_hashes, plotly=bool(plotly_src)))
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape_html(title)}</title>\n{script}<style>{REPORT_CSS}</style>\n{head_html}</head>\n"
        f'<body>\n<main class="report">\n{body_html}\n</main>\n</body>\n</html>\n'
    )


_TOKEN = re.compile(r"[A-Za-z0-9_\-]+")
_NUMBER = re.compile(r"(?<![\d.,])\d{1,3}(?:([.,])\d{3})(?:\1\d{3})*(?![\d])|(?<![\d.,])\d+(?:\.0+)?(?![\d.,]*\d)")


def _numbers(text: str) -> set[str]:
    """Integers written in a page: ``4.385.000``, ``4,385,000``, ``4385000`` and ``4385000.0`` all give ``4385000``."""
    out = set()
    for m in _NUMBER.finditer(text):
        token = m.group(0)
        if m.group(1):
            out.add(token.replace(m.group(1), ""))
        else:
            out.add(token.split(".")[0])
    return out


def scan_page(
    text: str, *, identifiers: set[str] = frozenset(), incomes: set[str] = frozenset()
) -> list[tuple[str, str]]:
    """Household identifiers and exact incomes that appear in a page's text.

    Identifiers are matched as whole tokens of ``[A-Za-z0-9_-]``; incomes (integers as
    strings) as whole numbers in any of the usual writings (``4.385.000``, ``4,385,000``,
    ``4385000``, ``4385000.0``).

    Examples
    --------
    >>> scan_page("Hộ TN0000001 có thu nhập 4.385.000 đồng", identifiers={"TN0000001"}, incomes={"4385000"})
    [('household_id', 'TN0000001'), ('income', '4385000')]
    >>> scan_page("2.385.000 và TN00000012", identifiers={"TN0000001"}, incomes={"4385000"})
    []
    """
    hits = [("household_id", t) for t in sorted(set(_TOKEN.findall(text)) & identifiers)]
    hits += [("income", n) for n in sorted(_numbers(text) & incomes)]
    return hits


def disclosure_scan(
    pages: Iterable[str | os.PathLike], households: pd.DataFrame, *, min_income: float = 100_000
) -> list[tuple[str, str, str]]:
    """Scan published pages for the identifiers and exact incomes of a household table.

    Parameters
    ----------
    pages : iterable of paths
        HTML (or any text) files.
    households : DataFrame
        With ``household_id`` and ``income_pc`` (e.g. the raw review file).
    min_income : float
        Incomes below this are not searched (small integers are everywhere: years, counts).

    Returns
    -------
    list of (page, kind, value)
        Empty when nothing is disclosed.
    """
    ids = set(households["household_id"].astype(str))
    inc = households["income_pc"].to_numpy(dtype=float)
    whole = inc[(inc >= min_income) & (inc == inc.round())]
    incomes = {str(int(v)) for v in set(whole.tolist())}
    hits = []
    for path in pages:
        text = Path(path).read_text(encoding="utf-8")
        hits += [(str(path), kind, value) for kind, value in scan_page(text, identifiers=ids, incomes=incomes)]
    return hits
