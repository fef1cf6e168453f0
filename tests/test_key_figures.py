"""Key figures and report texts stay as they were recorded (tests/fixtures/key_figures.json).

The record was written from the test data before the package was laid out in subpackages;
a change of layout, of where prose lives or of how modules import each other must leave
every number and sentence a reader sees unchanged.  After a deliberate change of content,
rewrite the record with ``python tests/test_key_figures.py`` (with POVANALYSIS_DATA_DIR set
to the test data) and say why in the commit.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

RECORD = Path(__file__).parent / "fixtures" / "key_figures.json"
COMMUNES = ("01840", "02071", "01879")
TEXTS = (
    "title",
    "overview_text",
    "households_text",
    "trend_text",
    "profile_text",
    "ethnicity_text",
    "credit_text",
    "coverage_text",
    "path_text",
    "risk_text",
    "exits_text",
    "villages_text",
)


def _text(obj) -> str | None:
    if obj is None:
        return None
    return getattr(obj, "data", str(obj))


def compute() -> dict:
    """The figures and texts compared: province rates, Alkire-Foster, credit, risk, outlook, report sections."""
    from povanalysis.data import pipeline
    from povanalysis.goals import outlook
    from povanalysis.impact import credit
    from povanalysis.measure import indicators, standards
    from povanalysis.measure.aggregates import poverty_counts
    from povanalysis.reports import prepare
    from povanalysis.reports import sections as report
    from povanalysis.targeting import risk

    classified = pipeline.load_classified()
    loans = pipeline.load_loans()
    out: dict = {}
    counts = poverty_counts(classified, by=["review_year"])
    out["poor_rate"] = counts["poor_rate"].round(12).tolist()
    latest = classified[classified["review_year"] == 2025]
    std = standards.get_standard(latest["standard"].iloc[0])
    af = indicators.alkire_foster(latest, weights=std.weights(), k=std.k)
    out["af"] = {
        f"{m}/{i}": round(float(v), 12) for m, i, v in zip(af["measure"], af["indicator"].fillna(""), af["value"])
    }
    for method in ("fe", "did", "ipw"):
        est = credit.estimate_effect(classified, loans, method=method)
        out[f"credit_{method}"] = [round(float(est.effect), 10), round(float(est.se), 10)]
    model = risk.fit_fallback_model(classified, loans)
    out["risk_auc"] = round(float(model.auc), 10) if hasattr(model, "auc") else None
    look = outlook.outlook(classified, settings={"n_sim": 200})
    out["outlook_2030"] = round(float(look.projection.aggregate().mean[0, -1]), 10)
    out["outlook_text"] = look.backtest_text("vi")
    prepare.ensure_prepared()
    texts = {}
    for code in COMMUNES:
        ctx = prepare.commune_context(code, review_year=2025)
        for lang in ("vi", "en"):
            for name in TEXTS:
                texts[f"{code}/{lang}/{name}"] = _text(getattr(report, name)(ctx, lang=lang))
    out["texts"] = texts
    return out


def _same(a, b, where: str) -> None:
    if isinstance(a, dict):
        assert set(a) == set(b), f"{where}: keys differ: {sorted(set(a) ^ set(b))}"
        for k in a:
            _same(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), f"{where}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) or (np.isnan(a) and np.isnan(b)), f"{where}: {a} != {b}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def test_key_figures_and_report_texts_are_unchanged():
    if not RECORD.exists():
        pytest.fail(f"no record at {RECORD}: write it with `python {Path(__file__).name}`")
    recorded = json.loads(RECORD.read_text(encoding="utf-8"))
    _same(compute(), recorded, "key figures")


if __name__ == "__main__":
    RECORD.parent.mkdir(exist_ok=True)
    RECORD.write_text(json.dumps(compute(), ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {RECORD}")
