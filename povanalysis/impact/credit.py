"""What VBSP policy loans do to poverty exit, income and deprivations: one import for the whole credit analysis.

The analysis lives in one module per concept: :mod:`~povanalysis.impact.outcomes` (the
analysis panel), :mod:`~povanalysis.impact.effects` (the estimators), :mod:`~povanalysis.impact.studies`
(event study, subgroups) and :mod:`~povanalysis.impact.cost` (cost per exit).  Their figures are
in :mod:`povanalysis.figures.impact`, their sentences in :mod:`povanalysis.reports.prose.impact`.

Examples
--------
>>> from povanalysis.data import synth
>>> p = synth.generate(seed=5, scale=0.01)
>>> estimate_effect(p.households, p.loans, method="did").biased
False
"""

from __future__ import annotations

from ..common.deprecation import moved_names
from .cost import CostPerExit, cost_per_exit
from .did import COMPARISONS
from .effects import DEFAULT_COVARIATES, METHODS, CreditEffect, estimate_effect
from .outcomes import OUTCOMES, POPULATIONS, REVIEW_CUTOFF, build_outcomes
from .studies import HETEROGENEITY, EventStudy, Heterogeneity, event_study, heterogeneity

__all__ = [
    "OUTCOMES",
    "METHODS",
    "POPULATIONS",
    "COMPARISONS",
    "HETEROGENEITY",
    "DEFAULT_COVARIATES",
    "REVIEW_CUTOFF",
    "CreditEffect",
    "EventStudy",
    "Heterogeneity",
    "CostPerExit",
    "build_outcomes",
    "estimate_effect",
    "event_study",
    "heterogeneity",
    "cost_per_exit",
]

#: Names that moved out of this module in 0.2.0 and the module that now holds each; they keep
#: working from here, with a DeprecationWarning, for one release.
MOVED: dict[str, str] = {
    "compare_table": "povanalysis.reports.prose.impact",
    "headline_text": "povanalysis.reports.prose.impact",
    "plot_event_study": "povanalysis.figures.impact",
    "plot_forest": "povanalysis.figures.impact",
    "plot_balance": "povanalysis.figures.impact",
}


__getattr__ = moved_names(__name__, MOVED)
