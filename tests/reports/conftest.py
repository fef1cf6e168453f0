"""Fixtures shared by the report tests: the small prepared data, and a commune whose every text from data is hostile."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from povanalysis import config
from povanalysis.data import pipeline, registry
from povanalysis.reports import prepare

ARTIFACTS = config.PROJ_ROOT / "tests" / "_artifacts"


@pytest.fixture(scope="module")
def prepared():
    """The small synthetic data, prepared for the commune reports (code digest frozen while the module runs)."""
    with pytest.MonkeyPatch.context() as mp:
        root = Path(os.environ.get("POVANALYSIS_DATA_DIR") or ARTIFACTS / "data")
        pipeline.ensure_demo_data(root, seed=20240, scale=0.02)
        mp.setenv("POVANALYSIS_DATA_DIR", str(root))
        mp.delenv("POVANALYSIS_BOUNDARIES", raising=False)
        mp.delenv(prepare.CONTEXT_ENV, raising=False)
        frozen = prepare.code_digest()
        mp.setattr(prepare, "code_digest", lambda: frozen)
        prepare.ensure_prepared()
        yield root


@pytest.fixture
def hostile(prepared, monkeypatch):
    """A maker of the context of commune 01840 whose every text from data is ``payload``.

    The unit's name (in the context and in the registry, which the fan chart reads), its
    predecessors and their districts, its old area, the largest ethnic group, the indicator
    contributing most to M0, the target of its path and its name in the boundaries.
    """
    real = registry.units

    def make(payload: str, code: str = "01840", review_year: int = 2025) -> prepare.CommuneContext:
        ctx = prepare.commune_context(code, review_year=review_year)
        units = real().copy()
        units.loc[units["commune_code"] == code, "name"] = payload
        monkeypatch.setattr(registry, "units", lambda *args, **kwargs: units)
        unit = {
            **ctx.unit,
            "name": payload,
            "predecessors": f"{payload}|Xã Một",
            "predecessor_parts": "1|0",
            "predecessor_districts": f"{payload}|Huyện Hai",
            "old_area": payload,
            "unchanged": False,
        }
        eth = ctx.ethnicity.copy()
        now = eth[(eth["review_year"] == review_year) & ~eth["suppressed"] & (eth["ethnicity"] != "other")]
        eth.loc[now["households"].idxmax(), "ethnicity"] = payload
        areas = ctx.areas.assign(old_area=ctx.areas["old_area"].replace({ctx.unit["old_area"]: payload}))
        af = ctx.af.copy()
        pctb = af[(af["review_year"] == review_year) & (af["measure"] == "pctb") & ~af["suppressed"]]
        top = pctb["value"].idxmax()
        af.loc[top, ["indicator", "value"]] = [payload, pctb["value"].max() + 1]  # the one largest contribution
        extra = dict(ctx.extra)
        extra["projections"] = extra["projections"].assign(target=payload)
        bounds = extra["boundaries"].copy()
        bounds.loc[bounds["commune_code"] == code, "name"] = payload
        extra["boundaries"] = bounds
        return dataclasses.replace(ctx, unit=unit, ethnicity=eth, areas=areas, af=af, extra=extra)

    return make
