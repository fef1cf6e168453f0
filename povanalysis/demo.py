"""The main job on the synthetic data: prepare the data, then run every report (province notebooks and 92 communes) as HTML."""

from __future__ import annotations

import sys
from pathlib import Path

from . import config
from .data.pipeline import DEFAULT_SEED, ensure_demo_data

__all__ = ["run_demo", "run_notebook"]


def run_notebook(name: str, out_dir: Path, *, parameters: dict | None = None) -> Path:
    """Execute ``notebooks/<name>`` with papermill into ``out_dir``; returns the executed notebook."""
    import papermill as pm

    src = config.PROJ_ROOT / "notebooks" / name
    if not src.exists():
        raise FileNotFoundError(f"no notebook {src}")
    out_dir.mkdir(parents=True, exist_ok=True)
    dest = out_dir / name
    pm.execute_notebook(str(src), str(dest), parameters=parameters or {}, progress_bar=False,
                        cwd=str(src.parent), kernel_name="python3")
    return dest


def run_demo(*, seed: int = DEFAULT_SEED, scale: float = 1.0, lang: str = "vi", workers: int | None = None,
             force: bool = False) -> int:
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
    print(f"Open {out / 'index.html'} in a browser (works offline): {len(communes)} commune reports in "
          f"{out / 'communes'}, {len(province)} province reports in {out / 'province'}, "
          f"key figures in {out / 'key-figures.xlsx'}.")
    if not result.ok:
        print(f"{len(result.failed)} reports failed; see {out / 'batch-summary.json'}", file=sys.stderr)
    return 0 if result.ok else 1
