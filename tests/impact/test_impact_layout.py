"""The credit analysis keeps models, figures and prose apart, and the names that moved still work for one release."""

import ast
import warnings
from pathlib import Path

import pandas as pd
import pytest

import povanalysis
from povanalysis.figures import impact as figures
from povanalysis.impact import cost, credit, effects, outcomes, simulation, studies
from povanalysis.reports.prose import impact as prose

IMPACT = Path(povanalysis.__file__).parent / "impact"


def imported_modules(path: Path) -> set[str]:
    """Modules a file imports at its top level (imports inside functions are lazy and left out)."""
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
    return names


@pytest.mark.parametrize("path", sorted(IMPACT.glob("*.py")), ids=lambda p: p.name)
def test_models_import_no_figures_labels_or_prose(path):
    names = imported_modules(path)
    banned = [
        n
        for n in names
        if n.startswith("plotly")
        or n.endswith(("figures.charts", "common.labels"))
        or "prose" in n
        or n.endswith("figures")
    ]
    assert not banned, f"{path.name} imports {banned}"


@pytest.mark.parametrize("path", sorted(IMPACT.glob("*.py")), ids=lambda p: p.name)
def test_models_use_no_private_name_of_another_module(path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            private = [a.name for a in node.names if a.name.startswith("_") and a.name != "__future__"]
            assert not private, f"{path.name} imports {private} from {node.module}"


def test_the_credit_module_reexports_the_analysis():
    assert credit.estimate_effect is effects.estimate_effect
    assert credit.build_outcomes is outcomes.build_outcomes
    assert credit.event_study is studies.event_study and credit.heterogeneity is studies.heterogeneity
    assert credit.cost_per_exit is cost.cost_per_exit
    assert not set(credit.MOVED) & set(credit.__all__)


@pytest.mark.parametrize("name", sorted(credit.MOVED))
def test_moved_names_warn_and_point_to_their_new_home(name):
    with pytest.warns(DeprecationWarning, match=f"moved to {credit.MOVED[name]}.{name}"):
        old = getattr(credit, name)
    assert old is getattr(figures if name.startswith("plot_") else prose, name)
    with pytest.raises(AttributeError):
        credit.no_such_name  # noqa: B018


def test_deprecated_methods_give_the_prose_functions_text():
    r = effects.CreditEffect(
        0.1, 0.02, 500, 100, 400, 50, "did", "exit", "poor", "not_yet", (2021, 2025), False, pd.DataFrame()
    )
    with pytest.warns(DeprecationWarning, match="prose.impact.effect_text"):
        assert r.text("en") == prose.effect_text(r, "en")
    with pytest.warns(DeprecationWarning, match="prose.impact.method_name"):
        assert r.name("vi") == prose.method_name(r, "vi") == "Sai khác kép so le (Callaway–Sant'Anna)"
    tests = pd.DataFrame({"by": ["minority"], "stat": [1.5], "df": [1], "df_denom": [40], "pvalue": [0.23]})
    het = studies.Heterogeneity(pd.DataFrame(), tests, "did", "exit", "poor", "not_yet")
    with pytest.warns(DeprecationWarning, match="prose.impact.heterogeneity_text"):
        assert het.text("vi") == prose.heterogeneity_text(het, "vi")
    assert (
        prose.heterogeneity_text(het, "en")
        == "By ethnicity: test of equal effects across groups F(1, 40) = 1.50, p = 0.230."
    )
    runs = pd.DataFrame(
        {
            "seed": [1],
            "scale": 0.01,
            "planted": 0.0,
            "households": 4000,
            "estimator": "did",
            "term": "effect",
            "truth": 0.0,
            "estimate": [0.01],
            "se": 0.05,
            "ci_lower": [-0.09],
            "ci_upper": [0.11],
            "n_treated": 50,
            "note": "",
            "covered": True,
            "reject_zero": False,
        }
    )
    study = simulation.SimulationStudy(runs, (1,), (0.01,), (0.0,), "exit", 0.05)
    with pytest.warns(DeprecationWarning, match="prose.impact.simulation_table"):
        pd.testing.assert_frame_equal(study.table(lang="vi"), prose.simulation_table(study, lang="vi"))


def test_new_homes_raise_no_deprecation_warning():
    r = effects.CreditEffect(
        0.1, 0.02, 500, 100, 400, 50, "dose", "exit", "poor", "not_yet", (2021, 2025), False, pd.DataFrame()
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert prose.effect_text(r, "vi") == (
            "Liều lượng – đáp ứng theo số tiền vay: 10,0 điểm phần trăm / 10 triệu "
            "đồng (KTC 95%: 6,0 đến 14,0; 100 hộ vay)."
        )
        assert r.label == "Dose–response in loan amount" and "Credit effect" in r.summary()
        assert figures.plot_forest([r], lang="en").data[0].x == (10.0,)
