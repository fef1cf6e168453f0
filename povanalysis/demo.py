"""The main job on the synthetic data: prepare the data, then run every report (province notebooks and 92 communes) as HTML."""

from __future__ import annotations

import sys

from . import config
from .data.pipeline import DEFAULT_SEED, ensure_demo_data

__all__ = ["run_demo"]


def run_demo(
    *, seed: int = DEFAULT_SEED, scale: float = 1.0, lang: str = "vi", workers: int | None = None, force: bool = False
) -> int:
    """Generate (if missing) and process the demo data, run the batch into the reports folder; print the outputs.

    The batch (:func:`povanalysis.reports.batch.run_batch`) runs the province notebooks and the
    report of each of the 92 units, and builds ``index.html`` with the XLSX of key figures.
    A second run redoes only what changed.  Returns the exit status: 0, or 1 when a report
    failed (the others are still written).
    """
    from .reports.batch import run_batch

    paths = ensure_demo_data(seed=seed, scale=scale)
    out = config.reports_dir()
    result = run_batch(out, lang=lang, workers=workers, force=force)
    print("Processed tables:")
    for name, path in paths.items():
        print(f"  {name}: {path}")
    print(result.summary())
    frame = result.to_frame()
    communes = frame[(frame["kind"] == "commune") & (frame["status"] != "failed")]
    province = frame[(frame["kind"] == "province") & (frame["status"] != "failed")]
    print(
        f"Open {out / 'index.html'} in a browser (works offline): {len(communes)} commune reports in "
        f"{out / 'communes'}, {len(province)} province reports in {out / 'province'}, "
        f"key figures in {out / 'key-figures.xlsx'}."
    )
    if not result.ok:
        print(f"{len(result.failed)} reports failed; see {out / 'batch-summary.json'}", file=sys.stderr)
    return 0 if result.ok else 1
