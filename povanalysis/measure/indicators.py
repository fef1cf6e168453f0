"""Alkire–Foster and FGT poverty measures with linearised survey standard errors.

The measures live in three modules; this one gathers their public names, so that
``from povanalysis.measure.indicators import alkire_foster, fgt`` keeps working:

- :mod:`povanalysis.measure.alkire_foster`: deprivation scores, identification, and the
  Alkire–Foster adjusted headcount ratio with its partial indices;
- :mod:`povanalysis.measure.fgt`: the Foster–Greer–Thorbecke income measures;
- :mod:`povanalysis.measure.linearisation`: what both share: additive per-group sums over
  pandas or dask partitions, linearised standard errors of ratios, the tidy table.
"""

from __future__ import annotations

from ..common.checks import Z_95
from .alkire_foster import CUTOFF_TOLERANCE, alkire_foster, deprivation_score, identify_poor
from .fgt import fgt

__all__ = [
    "CUTOFF_TOLERANCE",
    "Z_95",
    "alkire_foster",
    "deprivation_score",
    "fgt",
    "identify_poor",
]
