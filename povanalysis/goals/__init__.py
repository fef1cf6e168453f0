"""2026–2030 goals: targets and their commune reference paths, rebasing to the new standard, projections
(trend, transition, simple baselines), what the targets require, backtests and the outlook behind the reports."""
