"""The main job on the synthetic data: prepare the data, run every report (province notebooks and 92 communes) as HTML, and write the officials' confidential follow-up workbooks outside the published folder."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from . import config
from .data.pipeline import DEFAULT_SEED, ensure_demo_data

__all__ = ["run_demo", "followup_dir", "write_followup"]


def followup_dir(data_root: Path | None = None) -> Path:
    """Where the demo writes the follow-up workbooks: ``<data>/confidential/theo-doi-ho``, beside the household data, never under the reports."""
    return (Path(data_root) if data_root else config.data_dir()) / "confidential" / "theo-doi-ho"


def write_followup(data_root: Path | None = None, *, folder: Path | None = None) -> list:
    """Write the confidential follow-up workbook of every commune from the processed data; return the files.

    Fits the risk of falling back (:func:`povanalysis.targeting.risk.fit_fallback_model`) on the
    processed panel, scores the latest review and writes one workbook per commune
    (:func:`povanalysis.targeting.followup.write_followup_workbooks`) into ``folder``
    (default :func:`followup_dir`).  The villages come from ``raw/villages.parquet``; data made
    by the generator before it had villages get them from their households and the generator's
    seed and scale (:func:`povanalysis.data.villages.assign_villages`, written to that file);
    other data without the file get one sheet of households per commune.
    """
    from .data import io
    from .data.villages import assign_villages, read_villages
    from .targeting import followup, risk

    root = Path(data_root) if data_root else config.data_dir()
    raw, processed = root / "raw", root / "processed"
    classified = io.read_parquet(processed / "households_classified.parquet")
    loans = io.read_parquet(processed / "loans.parquet")
    path = raw / "villages.parquet"
    record = raw / "generator.json"
    if not path.exists() and record.exists():
        params = json.loads(record.read_text(encoding="utf-8"))
        if params.get("generator") == "povanalysis.synth":
            households = io.read_parquet(raw / "households.parquet")
            io.write_parquet(assign_villages(households, seed=params["seed"], scale=params["scale"]), path)
    villages = read_villages(path) if path.exists() else None
    model = risk.fit_fallback_model(classified, loans)
    scores = model.score(classified)
    lists = followup.followup_lists(scores, classified, villages=villages, loans=loans)
    return followup.write_followup_workbooks(lists, folder or followup_dir(root))


def run_demo(
    *, seed: int = DEFAULT_SEED, scale: float = 1.0, lang: str = "vi", workers: int | None = None, force: bool = False
) -> int:
    """Generate (if missing) and process the demo data, run the batch into the reports folder; print the outputs.

    The batch (:func:`povanalysis.reports.batch.run_batch`) runs the province notebooks and the
    report of each of the 92 units, and builds ``index.html`` with the XLSX of key figures.
    A second run redoes only what changed.  Then the officials' confidential follow-up
    workbooks are written outside the reports folder (:func:`write_followup`).  Returns the exit status: 0, or 1 when a report
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
    start = time.perf_counter()
    files = write_followup()
    print(
        f"Confidential follow-up workbooks (MẬT — not for publication, readable by their owner only): {len(files)} "
        f"communes, {sum(f.households for f in files):,} households, in {followup_dir()} "
        f"({time.perf_counter() - start:.0f} s)."
    )
    if not result.ok:
        print(f"{len(result.failed)} reports failed; see {out / 'batch-summary.json'}", file=sys.stderr)
    return 0 if result.ok else 1
