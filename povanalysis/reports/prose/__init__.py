"""Sentences of the reports in Vietnamese and English, one module per part of the analysis.

Models return results objects; the sentences that describe them live here, so that a model
module imports neither the label tables nor any prose.
"""
