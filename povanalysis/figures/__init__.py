"""Figures: the palette, fonts and charts shared by every figure."""
