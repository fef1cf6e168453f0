"""Figures of an exported notebook drawn offline: plotly.js embedded once in the page, no CDN asked.

JupyterLab draws a figure from its plotly mime bundle (``application/vnd.plotly.v1+json``)
with the plotly.js of its extension.  An HTML export (``jupyter nbconvert --to html``,
JupyterLab's "Save and Export Notebook As HTML") cannot draw that bundle: it writes
"mimetype application/vnd.plotly.v1+json is not able to be represented".
:class:`PlotlyHtmlPreprocessor`, run by the exporter, gives each figure an HTML output
that draws it with a copy of plotly.js embedded before the first figure of the page; with
the export settings of :mod:`povanalysis.jupyter_env` the page asks no CDN for anything.

The figures are rendered when the notebook is exported, not when it runs: plotly's own
``notebook`` renderer would store plotly.js (about 4.8 MB) and every figure twice in each
executed notebook (the commune report grows from 0.25 MB to 5.3 MB), and would store
plotly.js only in the first notebook a warm kernel of the batch runs.
"""

from __future__ import annotations

import json

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

__all__ = ["PLOTLY_MIME", "PlotlyHtmlPreprocessor", "figure_html", "plotly_script"]

#: The mime type of a plotly figure in a notebook output.
PLOTLY_MIME = "application/vnd.plotly.v1+json"


def plotly_script() -> str:
    """plotly.js, bundled with the plotly package, as an inline ``<script>``."""
    from plotly.offline import get_plotlyjs

    return f"<script>{get_plotlyjs()}</script>"


def figure_html(fig: dict, *, div_id: str) -> str:
    """A figure's ``<div>`` and the script drawing it with the page's plotly.js: no MathJax, no CDN.

    Examples
    --------
    >>> html = figure_html({"data": [{"type": "bar", "y": [1]}], "layout": {}}, div_id="figure-1")
    >>> 'id="figure-1"' in html, "Plotly.newPlot" in html, "<script src" in html
    (True, True, False)
    """
    import plotly.io as pio

    fig = dict(fig)
    config = {"displaylogo": False, "responsive": True, **dict(fig.pop("config", None) or {})}
    return pio.to_html(
        fig,
        config=config,
        include_plotlyjs=False,
        include_mathjax=False,
        full_html=False,
        div_id=div_id,
        default_width="100%",
        default_height=525,
        validate=False,
    )


class PlotlyHtmlPreprocessor(Preprocessor):
    """nbconvert preprocessor: an offline HTML output for every plotly figure, plotly.js once, before the first.

    Outputs keep their mime bundle; an HTML output they had (plotly's ``notebook``
    renderer asks a CDN for MathJax in it) is replaced.  Enabled by default; the export
    settings of :mod:`povanalysis.jupyter_env` name it in ``HTMLExporter.preprocessors``.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook()
    >>> cell = nbformat.v4.new_code_cell("fig")
    >>> figure = {"data": [{"type": "bar", "y": [1]}], "layout": {}}
    >>> cell.outputs = [nbformat.v4.new_output("display_data", data={PLOTLY_MIME: figure}) for _ in range(2)]
    >>> nb.cells.append(cell)
    >>> nb, _ = PlotlyHtmlPreprocessor()(nb, {})
    >>> [(o.data["text/html"].count("<script>/**"), 'id="plotly-figure-0-' + str(j) + '"' in o.data["text/html"])
    ...  for j, o in enumerate(nb.cells[0].outputs)]
    [(1, True), (0, True)]
    """

    enabled = Bool(True, help="Render the plotly figures of the notebook.").tag(config=True)

    def preprocess(self, nb, resources):
        first = True
        for i, cell in enumerate(nb.cells):
            for j, output in enumerate(cell.get("outputs", [])):
                data = output.get("data", {})
                if PLOTLY_MIME not in data:
                    continue
                fig = data[PLOTLY_MIME]
                fig = json.loads(fig) if isinstance(fig, str) else fig
                html = figure_html(fig, div_id=f"plotly-figure-{i}-{j}")
                data["text/html"] = (plotly_script() + html) if first else html
                first = False
        return nb, resources
