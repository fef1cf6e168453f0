"""Measuring poverty: the standards, Alkire-Foster and FGT, aggregates, survey and small-area estimates."""
