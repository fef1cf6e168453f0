"""A real browser (headless Chromium, no network) opens the index and a commune report from file:// and draws every chart."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pagecheck
import pytest

from povanalysis import config
from povanalysis.data import pipeline
from povanalysis.reports import batch, html, prepare

ARTIFACTS = config.PROJ_ROOT / "tests" / "_artifacts"
CHROMIUM = pagecheck.CHROMIUM

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian package 'chromium')")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        root = Path(os.environ.get("POVANALYSIS_DATA_DIR") or ARTIFACTS / "data")
        pipeline.ensure_demo_data(root, seed=20240, scale=0.02)
        mp.setenv("POVANALYSIS_DATA_DIR", str(root))
        mp.delenv("POVANALYSIS_BOUNDARIES", raising=False)
        frozen = prepare.code_digest()
        mp.setattr(prepare, "code_digest", lambda: frozen)
        out = tmp_path_factory.mktemp("browser-site")
        result = batch.run_batch(out, communes=["01840"], workers=1, province=False, progress=False)
        assert result.ok, result.summary()
        yield out


def _console_errors(log: str) -> list[str]:
    lines = [line for line in log.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    return [line for line in lines if re.search(r"Uncaught|Error|Failed to load|ERR_", line)]


@pytest.mark.parametrize("name", ["index.html", "communes/01840-phuong-duc-xuan.html"])
def test_page_draws_every_chart_offline(site, tmp_path, name):
    page = site / name
    slots, _ = html.chart_slots(page.read_text(encoding="utf-8"))
    assert slots >= 1
    dom, log = pagecheck.dump_dom(page, tmp_path / "profile")
    assert _console_errors(log) == []
    # plotly marks each chart it drew and adds its SVG layers
    drawn = re.findall(r'<div[^>]*class="[^"]*plotly-graph-div[^"]*js-plotly-plot[^"]*"', dom)
    assert len(drawn) == slots
    assert dom.count('class="main-svg"') >= slots
    has_map = re.search(r'"fill":\s*"toself"', page.read_text(encoding="utf-8")) is not None
    assert has_map  # both pages carry the province map
    assert dom.count('<path class="js-fill" d="M') >= 92  # every unit of the map is a drawn shape
    shot = ARTIFACTS / "browser" / (Path(name).stem + ".png")
    shot.parent.mkdir(parents=True, exist_ok=True)
    shot.unlink(missing_ok=True)
    pagecheck.screenshot(page, shot, tmp_path / "profile-shot")
    assert shot.exists() and shot.stat().st_size > 20_000
