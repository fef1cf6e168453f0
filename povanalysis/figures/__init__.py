"""Figures: the palette, fonts and charts shared by every figure, and their offline HTML in exported notebooks."""
