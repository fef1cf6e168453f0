"""Commune reports, side by side on the same communes: papermill CLI + nbconvert CLI one after another, against the batch.

Run from the project root (it takes a few minutes at full scale):

    .venv/bin/python bench/bench_batch.py [--scale 1.0] [--communes 10] [--data DIR]

It prepares the demo data and the shared report tables (timed), then

1. runs the commune notebook for N communes the naive way, one after another: ``papermill``
   (command line, a fresh kernel each) then ``jupyter nbconvert --to html``;
2. runs ``povanalysis batch --workers 2`` on the same communes (warm kernels, parallel);
3. runs the batch for all 92 units plus the index;
4. runs it again with nothing changed, and after the ethnic group of one commune's households
   is corrected in a copy of the data (only that report and the index are redone);
5. runs the whole batch, province pages included, on a fresh copy of the data (cold: the shared
   tables prepared and every estimate computed, nothing in the computation cache), then again
   with ``--force`` (warm: every page redone, the estimates read from the cache), and runs the
   province notebooks the naive way on the same data and cache, for a ratio over every page;
6. measures page sizes, with the schematic boundaries and, when the file is there
   (``$POVANALYSIS_BOUNDARIES`` or ``../shared/data/thai-nguyen/communes_2025.geojson``),
   with the real ones.

Results are printed and written to ``bench/results/batch.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
REAL = Path(
    os.environ.get("POVANALYSIS_BOUNDARIES")
    or ROOT.parent / "shared" / "data" / "thai-nguyen" / "communes_2025.geojson"
)


def _run(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    return time.perf_counter() - start


def _pinned(env: dict) -> dict:
    """The environment with the prepared tables pinned, so that both ways read the same tables and
    neither prepares them again if a module of the package is edited while the benchmark runs."""
    code = "from povanalysis.reports import prepare; print(prepare.manifest_digest(prepare.read_manifest()))"
    digest = subprocess.run([PY, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    return {**env, "POVANALYSIS_REPORT_CONTEXT": digest.stdout.strip()}


def _naive(notebook: Path, out: Path, params: dict[str, str], env: dict) -> float:
    """One notebook the naive way: ``papermill`` on the command line (a fresh kernel), then ``jupyter nbconvert --to html``."""
    cmd = [PY, "-m", "papermill", str(notebook), str(out)]
    for name, value in params.items():
        cmd += ["-r", name, value]
    seconds = _run(cmd + ["--cwd", str(notebook.parent), "--no-progress-bar"], env)
    return seconds + _run([PY, "-m", "jupyter", "nbconvert", "--to", "html", str(out)], env)


def _sizes(folder: Path) -> list[int]:
    return sorted(p.stat().st_size for p in (folder / "communes").glob("*.html"))


def _slowest(out: Path) -> str:
    """The province pages' run times, slowest first (from the executed notebooks' cell timings)."""
    import nbformat

    times = []
    for path in (out / "province").glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        times.append((sum(c.metadata.get("papermill", {}).get("duration") or 0 for c in nb.cells), path.stem))
    return ", ".join(f"{stem} {t:.0f} s" for t, stem in sorted(times, reverse=True))


def _one_commune_changed(data: Path, work: Path, cmd: list[str], env: dict) -> tuple[float, dict]:
    """Correct the ethnic group of one commune's households (Tày → Nùng) in a copy of the data and rerun the batch."""
    import pandas as pd

    from povanalysis.data import io, pipeline

    edit = work / "data-edit"
    shutil.copytree(data, edit)
    raw = pd.read_parquet(edit / "raw" / "households.parquet")
    latest = raw[raw["review_year"] == raw["review_year"].max()]
    code = latest[latest["ethnicity"] == "Tày"].groupby("commune_code").size().idxmax()
    raw.loc[(raw["commune_code"] == code) & (raw["ethnicity"] == "Tày"), "ethnicity"] = "Nùng"
    io.write_parquet(raw, edit / "raw" / "households.parquet")
    pipeline.process(edit)
    eenv = {k: v for k, v in env.items() if k != "POVANALYSIS_REPORT_CONTEXT"}
    seconds = _run(cmd, {**eenv, "POVANALYSIS_DATA_DIR": str(edit)})
    out = Path(cmd[cmd.index("--out") + 1])
    counts = json.loads((out / "batch-summary.json").read_text(encoding="utf-8"))["counts"]
    return seconds, {**counts, "commune": str(code)}


def _whole_batch(data: Path, work: Path, cmd: list[str], env: dict) -> tuple[float, float, str, str]:
    """All reports, province pages and index on a fresh copy of the data (nothing prepared, nothing
    cached: the shared tables are prepared within the batch), then again with ``--force``."""
    fresh = work / "data-fresh"
    shutil.copytree(data / "raw", fresh / "raw")
    (fresh / "processed").mkdir()
    for path in (data / "processed").glob("*.parquet"):  # the processed inputs, not the report tables or cache
        shutil.copy2(path, fresh / "processed" / path.name)
    fenv = {k: v for k, v in env.items() if k != "POVANALYSIS_REPORT_CONTEXT"} | {"POVANALYSIS_DATA_DIR": str(fresh)}
    out = work / "whole"
    t_cold = _run(cmd[:-1] + ["--out", str(out)], fenv)  # without --force: a new folder, everything runs
    cold_pages = _slowest(out)
    t_warm = _run(cmd + ["--out", str(out)], fenv)
    warm_pages = _slowest(out)
    # the province pages the naive way, on the same data with the same computation cache (warm)
    naive = work / "naive-province"
    naive.mkdir()
    t_naive_province = sum(
        _naive(ROOT / "notebooks" / f"{path.stem}.ipynb", naive / path.name, {"lang": "vi"}, fenv)
        for path in sorted((out / "province").glob("*.ipynb"))
    )
    return t_cold, t_warm, cold_pages, warm_pages, t_naive_province


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="share of the province's households (default 1)")
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--communes", type=int, default=10, help="communes in the side-by-side run (default 10)")
    parser.add_argument("--data", help="data root (default: a folder under bench/results/)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from povanalysis.data import pipeline, registry

    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    data = Path(args.data) if args.data else results / f"data-scale{args.scale:g}"
    env = {**os.environ, "POVANALYSIS_DATA_DIR": str(data), "PYTHONHASHSEED": "0"}
    env.pop("POVANALYSIS_BOUNDARIES", None)
    load_start = os.getloadavg()[0]
    start = time.perf_counter()
    pipeline.ensure_demo_data(data, seed=args.seed, scale=args.scale)
    t_data = time.perf_counter() - start
    shutil.rmtree(data / "processed" / "cache", ignore_errors=True)  # the province pages start from nothing
    prep = [PY, "-c", "from povanalysis.reports import prepare; prepare.ensure_prepared(force=True)"]
    t_prepare = _run(prep, env)
    env = _pinned(env)

    codes = sorted(registry.known_codes(2025))
    step = max(1, len(codes) // args.communes)
    chosen = codes[::step][: args.communes]
    units = registry.units(2025).set_index("commune_code")
    notebook = ROOT / "notebooks" / "06-commune-report.ipynb"
    work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    try:
        naive_dir = work / "naive"
        naive_dir.mkdir()
        start = time.perf_counter()
        for code in chosen:
            out = naive_dir / f"{units.loc[code, 'slug']}.ipynb"
            _naive(notebook, out, {"commune_code": code, "lang": "vi"}, env)
        t_naive = time.perf_counter() - start

        batch_cmd = [
            PY,
            "-m",
            "povanalysis",
            "batch",
            "--workers",
            str(args.workers),
            "--no-province",
            "--quiet",
            "--force",
        ]
        t_batch = _run(batch_cmd + ["--out", str(work / "batch10"), "--communes", ",".join(chosen)], env)
        t_full = _run(batch_cmd + ["--out", str(work / "full")], env)
        t_again = _run(batch_cmd[:-1] + ["--out", str(work / "full")], env)  # nothing changed: no work
        province_cmd = [c for c in batch_cmd if c != "--no-province"]
        t_cold, t_warm, cold_pages, warm_pages, t_naive_province = _whole_batch(data, work, province_cmd, env)
        t_edit, counts = _one_commune_changed(data, work, batch_cmd[:-1] + ["--out", str(work / "full")], env)
        schematic = _sizes(work / "full")
        index_size = (work / "full" / "index.html").stat().st_size

        real, t_real_prepare = None, None
        if REAL.exists():
            real_data = work / "data-real"
            shutil.copytree(data / "raw", real_data / "raw")
            shutil.copytree(data / "processed", real_data / "processed", ignore=shutil.ignore_patterns("report"))
            renv = {**env, "POVANALYSIS_DATA_DIR": str(real_data), "POVANALYSIS_BOUNDARIES": str(REAL)}
            t_real_prepare = _run(prep, renv)
            renv = _pinned(renv)
            _run(batch_cmd + ["--out", str(work / "real"), "--communes", ",".join(chosen)], renv)
            real = _sizes(work / "real")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    ratio = t_naive / t_batch
    naive_all = t_naive / len(chosen) * len(codes)
    lines = [
        "# Commune reports: naive papermill + nbconvert against `povanalysis batch`",
        "",
        f"Machine: {os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}; "
        f"load average (1 min) at the start {load_start:.1f}, at the end {os.getloadavg()[0]:.1f}. Scale {args.scale:g} "
        f"(seed {args.seed}); {len(chosen)} communes side by side: {', '.join(chosen)}.",
        "",
        "| step | seconds |",
        "|---|---:|",
        f"| demo data (generate or reuse) | {t_data:.1f} |",
        f"| shared report tables (`report.prepare`, once per data) | {t_prepare:.1f} |",
        f"| naive: papermill CLI then nbconvert CLI, {len(chosen)} communes one after another | {t_naive:.1f} |",
        f"| `povanalysis batch --workers {args.workers}`, same {len(chosen)} communes (process start included) | {t_batch:.1f} |",
        f"| **ratio naive / batch** | **{ratio:.1f}×** |",
        f"| `povanalysis batch --workers {args.workers}`, all 92 units + index | {t_full:.1f} |",
        f"| naive loop for all 92 units, extrapolated from the {len(chosen)} above | {naive_all:.0f} |",
        f"| **ratio naive / batch, all 92 units** | **{naive_all / t_full:.1f}×** |",
        f"| the same again, nothing changed | {t_again:.1f} |",
        f"| one commune's households changed ({counts['commune']}): tables prepared again, "
        f"{counts['done']} report run, {counts['skipped']} up to date, index rebuilt | {t_edit:.1f} |",
        "",
        "The whole batch (`povanalysis batch --workers "
        f"{args.workers}`: 92 commune reports, the province pages and the index) on a fresh copy of the data:",
        "",
        "| run | commune reports + index | province pages (added) | total |",
        "|---|---:|---:|---:|",
        f"| cold: tables prepared and every estimate computed, nothing cached | {t_full:.1f} | "
        f"{t_cold - t_full:.1f} | {t_cold:.1f} |",
        f"| warm: every page redone (`--force`), the estimates read from the cache | {t_full:.1f} | "
        f"{t_warm - t_full:.1f} | {t_warm:.1f} |",
        f"| naive loop on the same notebooks: the 92 communes (extrapolated, above) and the province pages "
        f"({t_naive_province:.1f} s measured, same computation cache as the warm run) | | | "
        f"{naive_all + t_naive_province:.0f} |",
        f"| **ratio naive / warm batch, every page** | | | **{(naive_all + t_naive_province) / t_warm:.1f}×** |",
        "",
        "The commune reports + index column is the batch without the province pages, measured above; the "
        "province pages' column is what they add to it. The cold run includes preparing the shared tables "
        f"({t_prepare:.0f} s on their own, above), which the warm run and the commune-only runs find done. "
        "The naive loop writes no index.",
        "",
        f"Province pages, cell time in the kernel: cold {cold_pages}; warm {warm_pages}.",
        "",
        f"Commune pages with the schematic boundaries: median {statistics.median(schematic) / 1e3:.0f} KB, "
        f"largest {max(schematic) / 1e3:.0f} KB; index {index_size / 1e3:.0f} KB; plotly.js (4.8 MB) once, "
        "shared by every page, in `assets/`.",
    ]
    if real is not None:
        lines.append(
            f"With the real boundaries ({REAL.name}; tables prepared in {t_real_prepare:.1f} s): median "
            f"{statistics.median(real) / 1e3:.0f} KB, largest {max(real) / 1e3:.0f} KB (limit 1,500 KB)."
        )
    else:
        lines.append(f"Real boundaries not measured: {REAL} not found.")
    text = "\n".join(lines) + "\n"
    (results / "batch.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
