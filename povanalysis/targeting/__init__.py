"""Targeting: eligibility and its accuracy, the risk of falling back, budget allocation.

- ``panel``: the household-year panel the others share, and its checks;
- ``beneficiaries``: eligibility, targeting accuracy, the commune priority index;
- ``discrimination``: AUC and DeLong's test, logit fits, recalibration;
- ``risk``: the risk of falling back (a logit tested out of time), published counts, a confidential list;
- ``allocation``: allocating a credit budget across communes.

Their figures are in :mod:`povanalysis.figures.targeting`, their sentences in
:mod:`povanalysis.reports.prose.targeting`.  The eligibility functions (``eligibility``,
``accuracy``, ``priority_index``, ...) are also importable from here, where they lived before
the package was laid out in subpackages.
"""

from . import beneficiaries
from .beneficiaries import *  # noqa: F401,F403
from .beneficiaries import __all__  # noqa: F401


def __getattr__(name: str):
    # names that moved out of beneficiaries warn there, and here alike
    return getattr(beneficiaries, name)
