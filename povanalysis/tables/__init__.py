"""Published review results: the annex tables of the province's decisions, read, checked and matched to units.

What a researcher holds, where household lists are confidential, is the province's published
results: each year's decision approving the review of poor and near-poor households has an
annex with, per district and commune, the households, the poor and near-poor households.
:func:`read_published` reads one such sheet into a table by pre-2025 unit;
:func:`read_published_series` reads the annexes of several years and re-aggregates them onto
the 92 units of 2025; :func:`template` writes an empty annex to copy a PDF's figures into, and
:func:`check` reports what the reader makes of a file.  :mod:`~povanalysis.tables.display` shows
a match report and the agreement with microdata as tables for reading, and
:mod:`~povanalysis.tables.annex` writes annex-style workbooks from counts (the synthetic
panel's, for demonstrations and tests).
"""

from .commands import check, main
from .names import MATCH_MARGIN, MATCH_THRESHOLD, Matcher
from .published import PublishedTable, read_published
from .series import PublishedSeries, read_published_series
from .template import template

__all__ = [
    "MATCH_MARGIN",
    "MATCH_THRESHOLD",
    "Matcher",
    "PublishedSeries",
    "PublishedTable",
    "check",
    "main",
    "read_published",
    "read_published_series",
    "template",
]
