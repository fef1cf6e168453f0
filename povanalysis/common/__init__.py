"""Pieces every part of the package shares: argument checks, labels and number formats, files."""
