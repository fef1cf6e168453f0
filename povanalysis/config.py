"""Every path the package reads or writes, from one place."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "PROJ_ROOT",
    "data_dir",
    "raw_dir",
    "processed_dir",
    "cache_dir",
    "reports_dir",
    "households_path",
    "loans_path",
    "MIN_CELL",
]

PROJ_ROOT = Path(__file__).resolve().parents[1]

#: Smallest number of households behind a published count or rate; smaller cells are suppressed.
MIN_CELL = int(os.environ.get("POVANALYSIS_MIN_CELL", "10"))


def data_dir() -> Path:
    """Root of ``raw/`` and ``processed/``: ``$POVANALYSIS_DATA_DIR`` or the project's ``data/``."""
    env = os.environ.get("POVANALYSIS_DATA_DIR")
    return Path(env).resolve() if env else PROJ_ROOT / "data"


def raw_dir() -> Path:
    """Immutable inputs: household review records and loan records."""
    return data_dir() / "raw"


def processed_dir() -> Path:
    """Tables written by the library (classified households, aggregates)."""
    return data_dir() / "processed"


def cache_dir() -> Path:
    """Results the library computed once and reuses (Parquet files named by their inputs' digest)."""
    return processed_dir() / "cache"


def reports_dir() -> Path:
    """Where the demo and the batch write reports: ``$POVANALYSIS_REPORTS_DIR`` or ``reports/``."""
    env = os.environ.get("POVANALYSIS_REPORTS_DIR")
    return Path(env).resolve() if env else PROJ_ROOT / "reports"


def households_path() -> Path:
    """The household review file (one row per household per review year)."""
    return raw_dir() / "households.parquet"


def loans_path() -> Path:
    """The VBSP loan records."""
    return raw_dir() / "loans.parquet"
