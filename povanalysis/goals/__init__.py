"""2026-2030 targets: targets, projections, baselines, backtests and the outlook behind the reports."""
