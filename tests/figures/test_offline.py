"""An executed notebook exported with nbconvert draws its map and charts in a real browser with no network."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill
import pytest

from povanalysis import jupyter_env
from povanalysis.figures import offline

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)

# Headless, no GPU, and no network: every host resolves to nothing and every request goes to a dead proxy.
_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--virtual-time-budget=15000",
]

CELLS = [
    "import pandas as pd\nfrom povanalysis.figures import charts\nfrom povanalysis.geo import boundaries, maps",
    'frame = pd.DataFrame({"commune_code": ["01840", "01843", "05665"], "rate": [0.02, 0.18, 0.31]})\n'
    'maps.choropleth(frame, "rate", boundaries=boundaries.schematic_boundaries(), scheme=None, lang="en")',
    'trend = pd.DataFrame({"review_year": [2021, 2024], "poor_rate": [0.10, 0.05], "households": 100, "suppressed": False})\n'
    "charts.rate_trend(trend)",
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    """A small notebook with a map and a chart, run by papermill and exported by ``jupyter nbconvert --to html``."""
    folder = tmp_path_factory.mktemp("export")
    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    nb.cells = [nbformat.v4.new_markdown_cell("# Bản đồ xã")] + [nbformat.v4.new_code_cell(c) for c in CELLS]
    nbformat.write(nb, folder / "source.ipynb")
    papermill.execute_notebook(
        str(folder / "source.ipynb"), str(folder / "run.ipynb"), kernel_name="python3", progress_bar=False
    )
    settings = jupyter_env.install_export_settings(folder / "env")  # the settings make setup installs
    jupyter = Path(sys.executable).with_name("jupyter")
    command = [str(jupyter), "nbconvert"] if jupyter.exists() else [sys.executable, "-m", "nbconvert"]
    run = subprocess.run(
        [*command, "--to", "html", str(folder / "run.ipynb")],
        capture_output=True,
        text=True,
        env={**os.environ, "JUPYTER_CONFIG_DIR": str(settings.parent)},
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    # without the export settings nbconvert warns "Your element with mimetype(s) ... is not able to be represented"
    assert "not able to be represented" not in run.stderr
    return folder / "run.html"


def test_executed_notebook_stays_small(exported):
    # figures are rendered at export: the notebook keeps the mime bundles only
    assert (exported.parent / "run.ipynb").stat().st_size < 500_000


def test_exported_page_embeds_plotly_once_and_links_no_cdn(exported):
    page = exported.read_text(encoding="utf-8")
    assert page.count("* plotly.js v") == 1
    assert page.count("Plotly.newPlot(") == 2
    sources = re.findall(r"<script\b[^>]*\bsrc=[\"']([^\"']*)", page)
    assert not [s for s in sources if s.strip()], sources


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian package 'chromium')")
def test_exported_page_draws_the_map_offline(exported, tmp_path):
    net_log = tmp_path / "net.json"
    run = subprocess.run(
        [
            CHROMIUM,
            *_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--log-net-log={net_log}",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            exported.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    dom = run.stdout
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    assert [line for line in console if re.search(r"Uncaught|Error|Failed to load|ERR_", line)] == []
    assert len(re.findall(r'<div[^>]*class="[^"]*plotly-graph-div[^"]*js-plotly-plot', dom)) == 2
    # every unit of the map is a filled SVG path: 92 units (and a legend swatch or two)
    assert len(re.findall(r'<path class="js-fill" d="M[\d.]+,[\d.]+L', dom)) >= 92
    requested = set(re.findall(r"https?://[^\s\"'\\<>]+", net_log.read_text(encoding="utf-8")))
    assert not [url for url in requested if "cdn" in url or "mathjax" in url.lower() or "require" in url.lower()]


def test_preprocessor_replaces_the_html_of_plotly_notebook_renderer():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("fig")
    stock = '<script src="https://cdnjs.cloudflare.com/ajax/libs/mathjax/3.2.2/es5/tex-svg.min.js"></script>'
    figure = json.dumps({"data": [{"type": "bar", "y": [1]}], "layout": {}})
    cell.outputs = [nbformat.v4.new_output("display_data", data={offline.PLOTLY_MIME: figure, "text/html": stock})]
    nb.cells.append(cell)
    nb, _ = offline.PlotlyHtmlPreprocessor()(nb, {})
    html = nb.cells[0].outputs[0].data["text/html"]
    assert "cdnjs" not in html and "Plotly.newPlot(" in html and html.startswith("<script>")
