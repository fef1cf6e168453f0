"""Run the commune report for every unit, and the province notebooks, as HTML: warm kernels, parallel, resumable."""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import queue
import re
import signal
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
import pandas as pd

from .. import __version__, config
from ..common.files import atomic_write_bytes
from ..common.labels import check_lang
from ..data import registry
from . import engine, html, prepare
from .engine import KernelPool, check_parameters, load_notebook, notebook_parameters
from .index import build_index
from .redact import machine_folders, redact_notebook, redact_paths

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "COMMUNE_NOTEBOOK",
    "PROVINCE_NOTEBOOKS",
    "TITLE_CELL",
    "Job",
    "JobResult",
    "BatchResult",
    "commune_jobs",
    "province_jobs",
    "run_job",
    "run_batch",
    "expected_seconds",
    "longest_first",
]

#: The parameterised commune notebook, in ``notebooks/``.
COMMUNE_NOTEBOOK = "06-commune-report.ipynb"

#: The province pages the batch publishes for officials, in ``notebooks/``.  Notebook 07
#: (reading the published annexes) is a walkthrough for researchers, not a publication: it is
#: run by the notebook tests, not by the batch.
PROVINCE_NOTEBOOKS = (
    "01-province-overview.ipynb",
    "02-credit-impact.ipynb",
    "03-targets-2026-2030.ipynb",
    "04-targeting.ipynb",
    "05-small-area-estimates.ipynb",
)

#: The code cell (by id or tag) whose Markdown output opens a page with its title in the page's language.
TITLE_CELL = "report-title"

_SAFE_STEM = re.compile(r"^(communes|province)/[a-z0-9][a-z0-9-]*$")


def _notebooks_dir() -> Path:
    return config.PROJ_ROOT / "notebooks"


def _sha_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _digest(payload: dict) -> str:
    return _sha_bytes(json.dumps(payload, sort_keys=True, default=str).encode())


@dataclass(frozen=True)
class Job:
    """One notebook to run into one report.

    Attributes
    ----------
    kind : {"commune", "province"}
    key : str
        The commune code, or the province notebook's stem.
    notebook : Path
        The notebook to execute.
    parameters : dict
        Papermill parameters (checked against the notebook's ``parameters`` cell).
    stem : str
        Output path without extension, relative to the output folder
        (``communes/<code>-<slug>`` or ``province/<notebook stem>``); derived from the
        registry or the notebook name, never from data.
    title : str
        Page title; a province page takes, when it runs, the title its notebook prints in
        ``lang`` (see :func:`province_jobs`).
    lang : str
    digest : str
        SHA-256 of everything the report depends on (notebook, parameters, the prepared
        rows it reads, the package code); stored beside the outputs.
    """

    kind: str
    key: str
    notebook: Path
    parameters: dict
    stem: str
    title: str
    lang: str
    digest: str

    def __post_init__(self):
        if not _SAFE_STEM.match(self.stem):
            raise ValueError(f"unsafe output name {self.stem!r}")


@dataclass
class JobResult:
    """What became of a :class:`Job`.

    Attributes
    ----------
    job : Job
    status : {"done", "skipped", "failed"}
        ``skipped``: the stored outputs were up to date.
    error : str or None
        ``ExceptionName: message`` of a failure.
    seconds : float
        Wall time of the run (0 when skipped).
    """

    job: Job
    status: str
    error: str | None = None
    seconds: float = 0.0


@dataclass
class BatchResult:
    """The outcome of :func:`run_batch`.

    Attributes
    ----------
    out : Path
        The output folder.
    results : list of JobResult
        One per job, in job order.
    index : Path or None
        The index page (None when not built).
    seconds : float
        Wall time of the whole batch, preparation and index included.
    """

    out: Path
    results: list[JobResult]
    index: Path | None = None
    seconds: float = 0.0
    index_status: str = "skipped"

    @property
    def failed(self) -> list[JobResult]:
        """The jobs that failed."""
        return [r for r in self.results if r.status == "failed"]

    @property
    def ok(self) -> bool:
        """True when no job failed."""
        return not self.failed

    def counts(self) -> dict[str, int]:
        """Number of jobs per status."""
        out = {"done": 0, "skipped": 0, "failed": 0}
        for r in self.results:
            out[r.status] += 1
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per job: kind, key, output stem, status, error, seconds."""
        return pd.DataFrame(
            [
                {
                    "kind": r.job.kind,
                    "key": r.job.key,
                    "stem": r.job.stem,
                    "status": r.status,
                    "error": r.error,
                    "seconds": round(r.seconds, 3),
                }
                for r in self.results
            ],
            columns=["kind", "key", "stem", "status", "error", "seconds"],
        )

    def summary(self) -> str:
        """A short account: counts, time, where the index is, and every failure with its error."""
        c = self.counts()
        lines = [
            f"{len(self.results)} reports: {c['done']} run, {c['skipped']} up to date, {c['failed']} failed "
            f"({self.seconds:.1f} s)"
        ]
        if self.index is not None:
            lines.append(f"index: {self.index} ({self.index_status})")
        for r in self.failed:
            lines.append(f"FAILED {r.job.kind} {r.job.key} ({r.job.stem}): {r.error}")
        return "\n".join(lines)


# ----------------------------------------------------------------------------- jobs


def _check_codes(communes: Iterable[str] | None) -> list[str]:
    known = registry.known_codes()
    if communes is None:
        return sorted(known)
    codes = list(communes)
    for code in codes:
        if not isinstance(code, str) or code not in known:
            raise ValueError(f"communes: {code!r} is not the code of one of the 92 units of Thai Nguyen (2025)")
    if len(set(codes)) != len(codes):
        dup = next(c for c in codes if codes.count(c) > 1)
        raise ValueError(f"communes: code {dup!r} is listed twice")
    return codes


def commune_jobs(
    communes: Iterable[str] | None = None,
    *,
    manifest: dict,
    review_year: int,
    lang: str = "vi",
    notebook: Path | None = None,
) -> list[Job]:
    """One job per commune (all 92 units by default), named from the registry.

    Parameters
    ----------
    communes : iterable of str, optional
        Codes of units of the 2025 registry; an unknown code raises ``ValueError``.
    manifest : dict
        The prepared tables' manifest (:func:`povanalysis.reports.prepare.ensure_prepared`).
    review_year : int
    lang : {"vi", "en"}
    notebook : Path, optional
        Default ``notebooks/06-commune-report.ipynb``.
    """
    check_lang(lang)
    codes = _check_codes(communes)
    notebook = Path(notebook) if notebook else _notebooks_dir() / COMMUNE_NOTEBOOK
    nb_sha = _sha_bytes(notebook.read_bytes())
    units = registry.units().set_index("commune_code")
    jobs = []
    for code in codes:
        unit = units.loc[code]
        params = {"commune_code": code, "review_year": int(review_year), "lang": lang}
        digest = _digest(
            {
                "version": __version__,
                "notebook": nb_sha,
                "parameters": params,
                "shared": manifest["shared"],
                "commune": manifest["communes"].get(code, ""),
                "code": manifest["inputs"]["code"],
            }
        )
        title = (
            f"{unit['name']} — Báo cáo giảm nghèo {review_year}"
            if lang == "vi"
            else f"{unit['name']} — Poverty report {review_year}"
        )
        jobs.append(Job("commune", code, notebook, params, f"communes/{unit['slug']}", title, lang, digest))
    return jobs


def _heading(text: str) -> str | None:
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip() or None
    return None


def _notebook_title(nb: nbformat.NotebookNode, default: str) -> str:
    """The first ``# `` heading of the notebook's Markdown cells (the title as written), else ``default``."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            found = _heading(cell.source)
            if found:
                return found
    return default


def _executed_title(nb: nbformat.NotebookNode, default: str) -> str:
    """The title an executed notebook printed in its page's language, else ``default``.

    The title is the first ``# `` line of the Markdown output of the code cell whose id or tag is
    :data:`TITLE_CELL`.
    """
    for cell in nb.cells:
        if cell.cell_type != "code" or (
            cell.get("id") != TITLE_CELL and TITLE_CELL not in cell.metadata.get("tags", [])
        ):
            continue
        for output in cell.get("outputs", []):
            markdown = output.get("data", {}).get("text/markdown")
            found = _heading("".join(markdown) if isinstance(markdown, list) else markdown or "")
            if found:
                return found
    return default


def province_jobs(*, manifest: dict, lang: str = "vi", notebooks: Sequence[Path] | None = None) -> list[Job]:
    """One job per province page: the notebooks of :data:`PROVINCE_NOTEBOOKS` (or ``notebooks``).

    Only the pages published for officials are listed; notebook 07, a walkthrough for
    researchers, is not.  ``lang`` is passed to the notebooks that declare it; nothing else is.
    A job's title is the notebook's Markdown title until it runs; the page, its stamp and the
    index then take the title the executed notebook printed in ``lang`` (its
    :data:`TITLE_CELL` cell).
    """
    check_lang(lang)
    if notebooks is None:
        notebooks = [_notebooks_dir() / name for name in PROVINCE_NOTEBOOKS]
    jobs = []
    for path in notebooks:
        path = Path(path)
        raw = path.read_bytes()
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
        params = {"lang": lang} if "lang" in notebook_parameters(nb) else {}
        digest = _digest(
            {"version": __version__, "notebook": _sha_bytes(raw), "parameters": params, "inputs": manifest["inputs"]}
        )
        jobs.append(
            Job(
                "province",
                path.stem,
                path,
                params,
                f"province/{path.stem}",
                _notebook_title(nb, path.stem),
                lang,
                digest,
            )
        )
    return jobs


# ----------------------------------------------------------------------------- one job


def _paths(out: Path, job: Job) -> dict[str, Path]:
    base = out / job.stem
    return {
        "ipynb": base.with_suffix(".ipynb"),
        "html": base.with_suffix(".html"),
        "stamp": base.with_name(base.name + ".stamp.json"),
    }


def _invalid(job: Job) -> JobResult | None:
    """A failed result for a job whose parameters the notebook does not accept, else None."""
    try:
        check_parameters(load_notebook(job.notebook), job.parameters)
    except ValueError as exc:
        return JobResult(job, "failed", f"ValueError: {exc}")
    return None


def is_current(out: Path, job: Job) -> bool:
    """Whether the stored outputs of ``job`` exist and were made from the same inputs."""
    p = _paths(out, job)
    if not (p["ipynb"].exists() and p["html"].exists() and p["stamp"].exists()):
        return False
    try:
        return json.loads(p["stamp"].read_text(encoding="utf-8")).get("digest") == job.digest
    except (OSError, ValueError):
        return False


def _nav(job: Job) -> str:
    text = "← Mục lục các báo cáo" if job.lang == "vi" else "← Index of reports"
    return f'<nav class="crumbs"><a href="../index.html">{text}</a></nav>'


def run_job(
    job: Job, kernel: engine.WarmKernel, out: str | os.PathLike, *, stop: threading.Event | None = None
) -> JobResult:
    """Execute one job in a warm kernel and write its notebook, page and stamp atomically.

    The stamp (``<stem>.stamp.json``, holding the job's digest) is removed first and
    written last, so an interrupted job is redone by the next run.  On failure the stale
    outputs are removed and the executed notebook, with its traceback, goes to
    ``_failed/`` (not published).
    """
    out = Path(out)
    p = _paths(out, job)
    start = time.perf_counter()
    folders = machine_folders([(out, ".")])
    p["stamp"].unlink(missing_ok=True)
    title = job.title
    try:
        nb = engine.execute(kernel, job.notebook, job.parameters)
        if job.kind == "province":
            title = _executed_title(nb, job.title)
        nb.metadata["title"] = title
        redact_notebook(nb, folders)
        page = html.export(nb, lang=job.lang, title=title, plotly_src="../assets/" + html.PLOTLY_JS, nav_html=_nav(job))
    except Exception as exc:
        if stop is not None and stop.is_set():  # the batch was interrupted: the outputs stay as they were
            return JobResult(job, "failed", "KeyboardInterrupt: the batch was interrupted", time.perf_counter() - start)
        failed_nb = getattr(exc, "nb", None)
        if failed_nb is not None:
            redact_notebook(failed_nb, folders)
            atomic_write_bytes(out / "_failed" / (Path(job.stem).name + ".ipynb"), nbformat.writes(failed_nb).encode())
        p["ipynb"].unlink(missing_ok=True)
        p["html"].unlink(missing_ok=True)
        name = getattr(exc, "ename", None) or type(exc).__name__
        message = getattr(exc, "evalue", None) if hasattr(exc, "ename") else str(exc)
        error = redact_paths(f"{name}: {message}", folders)
        return JobResult(job, "failed", error, time.perf_counter() - start)
    atomic_write_bytes(p["ipynb"], nbformat.writes(nb).encode("utf-8"))
    atomic_write_bytes(p["html"], page.encode("utf-8"))
    seconds = time.perf_counter() - start
    stamp = {
        "digest": job.digest,
        "notebook": job.notebook.name,
        "parameters": job.parameters,
        "title": title,
        "seconds": round(seconds, 3),
    }
    atomic_write_bytes(p["stamp"], (json.dumps(stamp, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8"))
    (out / "_failed" / (Path(job.stem).name + ".ipynb")).unlink(missing_ok=True)
    return JobResult(job, "done", None, seconds)


# ----------------------------------------------------------------------------- order

#: Seconds a job is expected to take when no earlier run says: a province page computes the
#: province's estimates, a commune report reads prepared rows.
EXPECTED_SECONDS = {"province": 30.0, "commune": 1.0}


def expected_seconds(out: str | os.PathLike, job: Job) -> float:
    """How long ``job`` took the last time it ran into ``out`` (its stamp), else :data:`EXPECTED_SECONDS`."""
    stamp = _paths(Path(out), job)["stamp"]
    try:
        seconds = json.loads(stamp.read_text(encoding="utf-8")).get("seconds")
    except (OSError, ValueError):
        seconds = None
    if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and seconds >= 0:
        return float(seconds)
    return EXPECTED_SECONDS[job.kind]


def longest_first(jobs: Sequence[Job], out: str | os.PathLike) -> list[Job]:
    """The jobs, longest expected first (:func:`expected_seconds`), ties in their given order.

    Workers take jobs in this order: the long province pages start at once, side by side, and the
    short commune reports fill the workers as they free up, so no worker is left with a long page
    at the end (longest processing time first, Graham 1969: at most 4/3 of the best schedule).

    References
    ----------
    Graham, R. L. (1969). Bounds on multiprocessing timing anomalies. *SIAM J. Appl. Math.* 17(2),
    416–429. https://doi.org/10.1137/0117039
    """
    expected = {job.stem: expected_seconds(out, job) for job in jobs}
    return sorted(jobs, key=lambda job: -expected[job.stem])


# ----------------------------------------------------------------------------- runners


def _kernel_env() -> dict[str, str]:
    env = {"POVANALYSIS_DATA_DIR": str(config.data_dir()), "POVANALYSIS_MIN_CELL": str(config.MIN_CELL)}
    if os.environ.get("POVANALYSIS_BOUNDARIES"):
        env["POVANALYSIS_BOUNDARIES"] = os.environ["POVANALYSIS_BOUNDARIES"]
    return env


def _progress(total: int, enabled: bool | None):
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc="povanalysis batch",
        unit="report",
        file=sys.stderr,
        disable=(None if enabled is None else not enabled),
        dynamic_ncols=True,
    )


def _run_local(jobs: list[Job], out: Path, *, workers: int, env: dict, bar) -> list[JobResult]:
    todo: queue.Queue = queue.Queue()
    for job in jobs:
        todo.put(job)
    done: queue.Queue = queue.Queue()
    stop = threading.Event()
    pool = KernelPool(cwd=_notebooks_dir(), env=env)

    def work():
        while not stop.is_set():
            try:
                job = todo.get_nowait()
            except queue.Empty:
                return
            try:
                result = run_job(job, pool.kernel(), out, stop=stop)
            except Exception as exc:  # kernel start-up failed, or the pool was shut down
                result = JobResult(job, "failed", f"{type(exc).__name__}: {exc}")
            done.put(result)

    threads = [
        threading.Thread(target=work, name=f"povanalysis-worker-{i}", daemon=True)
        for i in range(max(1, min(workers, len(jobs))))
    ]
    results: dict[str, JobResult] = {}
    try:
        for t in threads:
            t.start()
        while len(results) < len(jobs):
            try:
                r = done.get(timeout=0.25)
            except queue.Empty:
                if not any(t.is_alive() for t in threads) and done.empty():
                    break
                continue
            results[r.job.stem] = r
            bar.update(1)
            bar.set_postfix(failed=sum(x.status == "failed" for x in results.values()), refresh=False)
    finally:
        stop.set()
        pool.shutdown()
        # let workers that were starting a kernel see the pool closed and stop it themselves
        deadline = time.monotonic() + 20
        for t in threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))
        pool.shutdown()
    for job in jobs:
        results.setdefault(job.stem, JobResult(job, "failed", "RuntimeError: no worker ran the job"))
    return [results[j.stem] for j in jobs]


class _KernelPoolPlugin:
    """A Dask worker plugin that gives each worker thread a warm kernel and stops them at teardown."""

    def __init__(self, *, env: dict, cwd: str, name: str):
        self.env, self.cwd, self.name = env, cwd, name
        self.pool = None

    def setup(self, worker):
        self.pool = KernelPool(cwd=self.cwd, env=self.env)

    def teardown(self, worker):
        if self.pool is not None:
            self.pool.shutdown()


def _dask_run(job: Job, out: str, plugin: str) -> JobResult:
    from distributed import get_worker

    pool = get_worker().plugins[plugin].pool
    return run_job(job, pool.kernel(), out)


def _run_dask(jobs: list[Job], out: Path, *, scheduler, env: dict, bar) -> list[JobResult]:
    from distributed import Client, as_completed
    from distributed.diagnostics.plugin import WorkerPlugin

    plugin_cls = type("PovanalysisKernelPool", (_KernelPoolPlugin, WorkerPlugin), {})
    name = "povanalysis-kernels-" + _digest({"env": env, "pid": os.getpid(), "t": time.time()})[:12]
    plugin = plugin_cls(env=env, cwd=str(_notebooks_dir()), name=name)
    own = not isinstance(scheduler, Client)
    client = Client(scheduler, set_as_default=False) if own else scheduler
    results: dict[str, JobResult] = {}
    futures = []
    try:
        client.register_plugin(plugin, name=name)
        futures = [
            client.submit(
                _dask_run, job, str(out), name, key=f"povanalysis-{job.stem}-{job.digest[:10]}", pure=False, retries=0
            )
            for job in jobs
        ]
        by_key = {f.key: j for f, j in zip(futures, jobs)}
        for fut in as_completed(futures, loop=client.loop):
            job = by_key[fut.key]
            try:
                r = fut.result()
            except Exception as exc:  # the worker died or the task could not run
                r = JobResult(job, "failed", f"{type(exc).__name__}: {exc}")
            results[job.stem] = r
            bar.update(1)
            bar.set_postfix(failed=sum(x.status == "failed" for x in results.values()), refresh=False)
    finally:
        for f in futures:
            if not f.done():
                f.cancel()
        try:
            client.unregister_worker_plugin(name)
        except Exception:  # the cluster may already be gone
            pass
        if own:
            client.close()
    return [results.get(j.stem, JobResult(j, "failed", "RuntimeError: no result from the cluster")) for j in jobs]


class _SigtermAsInterrupt:
    """Turn SIGTERM into KeyboardInterrupt in the main thread, so kernels are stopped the same way as on Ctrl-C."""

    def __enter__(self):
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGTERM, self._raise)
        return self

    @staticmethod
    def _raise(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)


def _write_summary(out: Path, result: BatchResult, *, review_year: int, lang: str) -> None:
    frame = result.to_frame()
    payload = {
        "review_year": review_year,
        "lang": lang,
        "counts": result.counts(),
        "failures": frame[frame["status"] == "failed"][["kind", "key", "stem", "error"]].to_dict("records"),
    }
    atomic_write_bytes(
        out / "batch-summary.json",
        (json.dumps(payload, indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"),
    )


def run_batch(
    out: str | os.PathLike,
    *,
    communes: Iterable[str] | None = None,
    workers: int | None = None,
    scheduler: str | Client | None = None,
    lang: str = "vi",
    review_year: int | None = None,
    force: bool = False,
    province: bool = True,
    index: bool = True,
    progress: bool | None = None,
    jobs: Sequence[Job] | None = None,
) -> BatchResult:
    """Run the commune report for every unit (or ``communes``) and the province notebooks, as HTML.

    Steps: prepare the shared tables once (:func:`povanalysis.reports.prepare.ensure_prepared`);
    list the jobs; skip those whose stored digest matches (unless ``force``); run the rest,
    longest first (:func:`longest_first`), on ``workers`` warm kernels (or on a Dask cluster); build ``index.html`` and the XLSX of
    key figures; write ``batch-summary.json``.  A failing report does not stop the others.
    Ctrl-C (or SIGTERM) stops every kernel the batch started before re-raising.

    Parameters
    ----------
    out : path
        Output folder: ``communes/<code>-<slug>.{ipynb,html}``, ``province/*``,
        ``assets/plotly.min.js``, ``index.html``, ``key-figures.xlsx``.
    communes : iterable of str, optional
        Codes to run (default all 92); unknown codes raise ``ValueError``.
    workers : int, optional
        Local worker threads, each with its own kernel (default: the number of CPUs).
    scheduler : str or distributed.Client, optional
        Address of a Dask scheduler (or a client): run the jobs on its workers instead,
        each worker thread keeping a warm kernel.  Workers must see the same files (data
        and output folder) at the same paths.
    lang : {"vi", "en"}
    review_year : int, optional
        Review the reports describe (default the latest in the data).
    force : bool
        Redo every report even when up to date.
    province : bool
        Also run the province notebooks.
    index : bool
        Build the index and the XLSX.
    progress : bool, optional
        Show a progress bar (default: when stderr is a terminal).
    jobs : sequence of Job, optional
        Run exactly these jobs (made with :func:`commune_jobs` / :func:`province_jobs`)
        instead of the default list.

    Returns
    -------
    BatchResult
    """
    check_lang(lang)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    workers = workers or os.cpu_count() or 1
    codes = _check_codes(communes) if communes is not None else None
    started = time.perf_counter()
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    atexit.register(engine.shutdown_all)
    manifest = prepare.ensure_prepared()
    years = manifest["review_years"]
    review_year = max(years) if review_year is None else review_year
    if isinstance(review_year, bool) or not isinstance(review_year, int) or review_year not in years:
        raise ValueError(f"review_year must be one of the reviews in the data {years}, got {review_year!r}")
    html.copy_plotly_js(out / "assets")
    if jobs is None:
        jobs = (province_jobs(manifest=manifest, lang=lang) if province else []) + commune_jobs(
            codes, manifest=manifest, review_year=review_year, lang=lang
        )
    jobs = list(jobs)
    stems = [j.stem for j in jobs]
    if len(set(stems)) != len(stems):
        raise ValueError("two jobs write the same output")
    pending = [j for j in jobs if force or not is_current(out, j)]
    env = {**_kernel_env(), prepare.CONTEXT_ENV: prepare.manifest_digest(manifest)}
    ran = {r.job.stem: r for r in map(_invalid, pending) if r is not None}  # fail fast, before any kernel starts
    pending = longest_first([j for j in pending if j.stem not in ran], out)
    with _SigtermAsInterrupt(), _progress(len(pending), progress) as bar:
        if pending:
            runner = _run_dask if scheduler is not None else _run_local
            kwargs = {"scheduler": scheduler} if scheduler is not None else {"workers": workers}
            ran |= {r.job.stem: r for r in runner(pending, out, env=env, bar=bar, **kwargs)}
    results = [ran.get(j.stem, JobResult(j, "skipped")) for j in jobs]
    result = BatchResult(out=out, results=results)
    if index:
        result.index, result.index_status = build_index(out, review_year=review_year, lang=lang, force=force)
    result.seconds = time.perf_counter() - started
    _write_summary(out, result, review_year=review_year, lang=lang)
    return result
