"""Sentences of the reports in Vietnamese and English, one module per part of the analysis.

Models return results objects; the sentences that describe them live here, so that a model
module imports neither the label tables nor any prose.

The sentences (``*_text``, ``*_headline``) are Markdown: a name or key that comes from data
(a commune's name, a target's name, a column) is escaped with
:func:`povanalysis.common.safe.escape_markdown`, so that it shows as typed and never becomes
markup.  Tables are returned as DataFrames of plain text; pandas escapes their cells when a
notebook shows them.
"""
