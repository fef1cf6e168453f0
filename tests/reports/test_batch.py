"""The batch runner: warm kernels equal fresh ones, failures are isolated, re-runs skip, Ctrl-C leaves no kernels, Dask."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from povanalysis import config
from povanalysis.data import pipeline
from povanalysis.reports import batch, engine, prepare
from povanalysis.reports.redact import machine_folders, redact_notebook

ARTIFACTS = config.PROJ_ROOT / "tests" / "_artifacts"
CODES = ["01840", "05665", "02143"]  # Phường Đức Xuân; Xã Văn Lăng and Xã Văn Lang, whose ASCII names collide
FAILING = "02143"


def small_data_root() -> Path:
    """The small synthetic data of ``make test`` (made here when missing), prepared for the reports."""
    root = Path(os.environ.get("POVANALYSIS_DATA_DIR") or ARTIFACTS / "data")
    pipeline.ensure_demo_data(root, seed=20240, scale=0.02)
    return root


@pytest.fixture(scope="module")
def data_root():
    with pytest.MonkeyPatch.context() as mp:
        root = small_data_root()
        mp.setenv("POVANALYSIS_DATA_DIR", str(root))
        # the code is what it is when the tests start, even if a module is edited while they run
        frozen = prepare.code_digest()
        mp.setattr(prepare, "code_digest", lambda: frozen)
        prepare.ensure_prepared()
        yield root


def make_failing(mp: pytest.MonkeyPatch, folder: Path, code: str = FAILING) -> None:
    """Make the report of ``code`` fail: its job runs a copy of the notebook ending in a cell that raises."""
    nb = nbformat.read(config.PROJ_ROOT / "notebooks" / batch.COMMUNE_NOTEBOOK, as_version=4)
    # the failure goes through pandas and names a file of the project: its traceback is full of machine paths
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "import pandas as pd\n"
            "from povanalysis import config\n"
            "try:\n"
            '    pd.read_csv(config.PROJ_ROOT / "data" / "raw" / "no-such-file.csv")\n'
            "except FileNotFoundError as exc:\n"
            '    raise RuntimeError(f"commune {commune_code}: failure injected: {exc}") from exc'
        )
    )
    broken = folder / batch.COMMUNE_NOTEBOOK
    nbformat.write(nb, broken)
    jobs = batch.commune_jobs

    def failing_jobs(communes=None, **kwargs):
        out = jobs(communes, **kwargs)
        return [dataclasses.replace(j, notebook=broken) if j.key == code else j for j in out]

    mp.setattr(batch, "commune_jobs", failing_jobs)


@pytest.fixture(scope="module")
def first_run(data_root, tmp_path_factory):
    """Three communes on one warm kernel (the second report runs in a used kernel), one made to fail."""
    out = tmp_path_factory.mktemp("reports")
    with pytest.MonkeyPatch.context() as mp:
        make_failing(mp, tmp_path_factory.mktemp("broken"))
        result = batch.run_batch(out, communes=CODES, workers=1, province=False, progress=False)
    return out, result


def _slug(code: str) -> str:
    from povanalysis.data import registry

    return registry.lookup(code)["slug"]


def test_failure_is_isolated_and_summarised(first_run):
    out, result = first_run
    status = {r.job.key: r.status for r in result.results}
    assert status == {"01840": "done", "05665": "done", FAILING: "failed"}
    assert not result.ok
    (failure,) = result.failed
    assert failure.error.startswith("RuntimeError: commune 02143: failure injected")
    assert "'<project>/data/raw/no-such-file.csv'" in failure.error
    assert f"FAILED commune {FAILING}" in result.summary()
    summary = json.loads((out / "batch-summary.json").read_text(encoding="utf-8"))
    assert summary["counts"] == {"done": 2, "skipped": 0, "failed": 1}
    assert summary["failures"][0]["key"] == FAILING
    # the good reports are complete, the failed one left only its executed notebook for debugging
    for code in ("01840", "05665"):
        for ext in (".html", ".ipynb", ".stamp.json"):
            assert (out / "communes" / f"{_slug(code)}{ext}").exists()
    assert not (out / "communes" / f"{_slug(FAILING)}.html").exists()
    assert (out / "_failed" / f"{_slug(FAILING)}.ipynb").exists()
    # names come from the registry: the two "Van Lang" communes keep distinct files
    assert _slug("05665") == "05665-xa-van-lang" and _slug("02143") == "02143-xa-van-lang"
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="communes/01840-phuong-duc-xuan.html"' in index
    assert f'href="communes/{_slug(FAILING)}.html"' not in index
    assert (out / "key-figures.xlsx").exists() and (out / "assets" / "plotly.min.js").exists()
    assert not list(out.rglob("*.tmp"))


def test_nothing_in_the_output_folder_names_the_machine_s_folders(first_run):
    import sys

    out, _ = first_run
    failed = (out / "_failed" / f"{_slug(FAILING)}.ipynb").read_text(encoding="utf-8")
    assert "site-packages" in failed and "no-such-file.csv" in failed  # the traceback is kept, redacted
    machine = {str(config.PROJ_ROOT), sys.prefix, str(Path.home()), str(out)}
    for path in out.rglob("*"):
        if path.is_file() and path.suffix in (".ipynb", ".html", ".json"):
            text = path.read_text(encoding="utf-8")
            leaks = [m for m in machine if m in text]
            assert not leaks, f"{path.relative_to(out)} names {leaks}"
    published = nbformat.read(out / "communes" / f"{_slug('01840')}.ipynb", as_version=4)
    assert published.metadata["papermill"]["input_path"] == "notebooks/06-commune-report.ipynb"


def _content(nb: nbformat.NotebookNode) -> list:
    """What a reader sees: every cell's source, execution count and outputs, without volatile metadata."""
    cells = []
    for cell in nb.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            cells.append(("injected", cell.source))
            continue
        outputs = [{k: v for k, v in o.items() if k != "metadata"} for o in cell.get("outputs", [])]
        cells.append((cell.cell_type, cell.source, cell.get("execution_count"), outputs))
    return cells


def test_warm_kernel_report_equals_fresh_kernel_report(first_run):
    import papermill

    out, result = first_run
    # on one worker, 05665 ran second: in the kernel that had just run 01840
    assert [r.job.key for r in result.results][:2] == ["01840", "05665"]
    warm = nbformat.read(out / "communes" / f"{_slug('05665')}.ipynb", as_version=4)
    notebook = config.PROJ_ROOT / "notebooks" / batch.COMMUNE_NOTEBOOK
    params = {"commune_code": "05665", "review_year": 2025, "lang": "vi"}  # the order of commune_jobs
    assert warm.metadata.papermill["parameters"] == params
    fresh = papermill.execute_notebook(
        str(notebook), None, parameters=params, kernel_name="python3", progress_bar=False, cwd=str(notebook.parent)
    )
    redact_notebook(fresh, machine_folders([(out, ".")]))  # as the batch publishes it (a warning names a file)
    assert _content(warm) == _content(fresh)
    figures = [o for c in warm.cells for o in c.get("outputs", []) if html_mime(o)]
    assert len(figures) >= 4
    assert [c.execution_count for c in warm.cells if c.cell_type == "code"][:3] == [1, 2, 3]


def html_mime(output) -> bool:
    return "application/vnd.plotly.v1+json" in output.get("data", {})


def test_cli_exit_status_is_non_zero_on_failure(first_run, monkeypatch, capsys, tmp_path):
    from povanalysis import cli

    out, _ = first_run
    make_failing(monkeypatch, tmp_path)
    status = cli.main(
        ["batch", "--out", str(out), "--communes", ",".join(CODES), "--workers", "1", "--no-province", "--quiet"]
    )
    captured = capsys.readouterr()
    assert status == 1
    assert "3 reports: 0 run, 2 up to date, 1 failed" in captured.out
    assert f"FAILED commune {FAILING}" in captured.out
    assert cli.main(["batch", "--out", str(out), "--communes", "01840,99999"]) == 2
    assert "error: communes: '99999' is not the code of one of the 92 units" in capsys.readouterr().err


def test_rerun_redoes_only_failed_and_out_of_date(first_run, capsys):
    out, _ = first_run
    # a stamp from other inputs makes that report out of date; the failure is fixed: those two run,
    # on two workers, with a progress bar
    stamp = out / "communes" / f"{_slug('05665')}.stamp.json"
    stamp.write_text(json.dumps({"digest": "0" * 64}), encoding="utf-8")
    html_before = (out / "communes" / f"{_slug('01840')}.html").stat().st_mtime_ns
    again = batch.run_batch(out, communes=CODES, workers=2, province=False, progress=True)
    assert [r.status for r in again.results] == ["skipped", "done", "done"]
    assert again.index_status == "built"
    assert "povanalysis batch" in capsys.readouterr().err
    assert not (out / "_failed" / f"{_slug(FAILING)}.ipynb").exists()
    # nothing changed: no work at all, index included
    idle = batch.run_batch(out, communes=CODES, workers=2, province=False, progress=False)
    assert idle.counts() == {"done": 0, "skipped": 3, "failed": 0} and idle.index_status == "up to date"
    assert (out / "communes" / f"{_slug('01840')}.html").stat().st_mtime_ns == html_before


def test_job_digest_changes_with_parameters_and_rows(data_root):
    manifest = prepare.read_manifest()
    vi = batch.commune_jobs(["01840"], manifest=manifest, review_year=2025, lang="vi")[0]
    en = batch.commune_jobs(["01840"], manifest=manifest, review_year=2025, lang="en")[0]
    y24 = batch.commune_jobs(["01840"], manifest=manifest, review_year=2024, lang="vi")[0]
    changed = {**manifest, "communes": {**manifest["communes"], "01840": "x"}}
    other = batch.commune_jobs(["01840"], manifest=changed, review_year=2025, lang="vi")[0]
    untouched = batch.commune_jobs(["05665"], manifest=changed, review_year=2025, lang="vi")[0]
    assert len({vi.digest, en.digest, y24.digest, other.digest}) == 4
    assert untouched.digest == batch.commune_jobs(["05665"], manifest=manifest, review_year=2025)[0].digest
    assert vi.stem == "communes/01840-phuong-duc-xuan" and vi.parameters == {
        "commune_code": "01840",
        "review_year": 2025,
        "lang": "vi",
    }


def test_parameters_are_checked(data_root, tmp_path):
    notebook = config.PROJ_ROOT / "notebooks" / batch.COMMUNE_NOTEBOOK
    nb = nbformat.read(notebook, as_version=4)
    assert set(engine.notebook_parameters(nb)) == {"commune_code", "review_year", "lang", "data_mode"}
    with pytest.raises(ValueError, match="unknown notebook parameter 'commune'"):
        engine.check_parameters(nb, {"commune": "01840"})
    with pytest.raises(ValueError, match="notebook parameter 'review_year' must be of type int, got '2024'"):
        engine.check_parameters(nb, {"review_year": "2024"})
    with pytest.raises(ValueError, match="communes: '99999' is not the code of one of the 92 units"):
        batch.run_batch(tmp_path, communes=["99999"])
    with pytest.raises(ValueError, match="communes: '../01840' is not the code"):
        batch.run_batch(tmp_path, communes=["../01840"])
    with pytest.raises(ValueError, match="workers must be a positive integer, got 0"):
        batch.run_batch(tmp_path, communes=["01840"], workers=0)
    with pytest.raises(ValueError, match=r"unsafe output name 'communes/\.\./x'"):
        batch.Job("commune", "x", notebook, {}, "communes/../x", "t", "vi", "d")
    # an unknown parameter fails that job, before any kernel starts, with the reason in the summary
    bad = batch.Job(
        "commune",
        "05665",
        notebook,
        {"commune_code": "05665", "year": 2025},
        "communes/05665-xa-van-lang",
        "t",
        "vi",
        "d",
    )
    result = batch.run_batch(tmp_path, jobs=[bad], workers=1, index=False, progress=False)
    assert [r.status for r in result.results] == ["failed"]
    assert result.results[0].error.startswith("ValueError: unknown notebook parameter 'year'")
    assert "FAILED commune 05665 (communes/05665-xa-van-lang): ValueError" in result.summary()


def test_dask_local_cluster_gives_the_same_pages(first_run, tmp_path):
    from distributed import LocalCluster

    out_local, _ = first_run
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1", dashboard_address=None
    ) as cluster:
        result = batch.run_batch(
            tmp_path, communes=["01840"], scheduler=cluster.scheduler_address, province=False, progress=False
        )
        plugins = cluster.workers[next(iter(cluster.workers))].plugins
        assert not [name for name in plugins if name.startswith("povanalysis-kernels")]
    assert result.ok and [r.status for r in result.results] == ["done"]
    page = (tmp_path / "communes" / "01840-phuong-duc-xuan.html").read_bytes()
    assert page == (out_local / "communes" / "01840-phuong-duc-xuan.html").read_bytes()
    assert not engine.shutdown_all()


def _kernels_of(pid: int) -> list:
    import psutil

    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    out = []
    for child in children:
        try:
            if any("ipykernel" in part for part in child.cmdline()):
                out.append(child)
        except psutil.Error:
            pass
    return out


def test_ctrl_c_leaves_no_kernels(data_root, tmp_path):
    import psutil

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "povanalysis",
            "batch",
            "--out",
            str(tmp_path),
            "--communes",
            ",".join(CODES),
            "--workers",
            "2",
            "--no-province",
            "--quiet",
            "--force",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "POVANALYSIS_DATA_DIR": str(data_root)},
    )
    try:
        kernels = []
        deadline = time.monotonic() + 120
        while not kernels and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            kernels = _kernels_of(proc.pid)
        assert kernels, "the batch started no kernel"
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    gone, alive = psutil.wait_procs(kernels, timeout=15)
    assert not alive, f"kernels left running: {[p.pid for p in alive]}"
    assert not list(tmp_path.rglob("*.tmp"))


def test_jobs_run_longest_first_by_their_last_run(tmp_path):
    """Province pages first when nothing is known; then the order of the last run's times, longest first."""

    def job(kind, key):
        stem = f"province/{key}" if kind == "province" else f"communes/{key}"
        return batch.Job(kind, key, Path(f"{key}.ipynb"), {}, stem, key, "vi", "0" * 64)

    jobs = [job("commune", "a"), job("province", "01-x"), job("commune", "b"), job("province", "02-y")]
    assert [j.key for j in batch.longest_first(jobs, tmp_path)] == ["01-x", "02-y", "a", "b"]
    for key, seconds in {"01-x": 10.0, "02-y": 34.0, "b": 2.5}.items():
        folder = tmp_path / ("province" if "-" in key else "communes")
        folder.mkdir(exist_ok=True)
        (folder / f"{key}.stamp.json").write_text(json.dumps({"digest": "1" * 64, "seconds": seconds}))
    (tmp_path / "communes" / "a.stamp.json").write_text("{broken")
    assert batch.expected_seconds(tmp_path, jobs[0]) == batch.EXPECTED_SECONDS["commune"]
    assert [j.key for j in batch.longest_first(jobs, tmp_path)] == ["02-y", "01-x", "b", "a"]


def test_province_pages_are_the_five_publications_for_officials(data_root):
    jobs = batch.province_jobs(manifest=prepare.read_manifest())
    assert [j.stem for j in jobs] == [
        "province/01-province-overview",
        "province/02-credit-impact",
        "province/03-targets-2026-2030",
        "province/04-targeting",
        "province/05-small-area-estimates",
    ]
    assert all(j.notebook.exists() for j in jobs)
    assert "07-published-tables.ipynb" not in batch.PROVINCE_NOTEBOOKS  # a walkthrough, run by the notebook tests
    assert (config.PROJ_ROOT / "notebooks" / "07-published-tables.ipynb").exists()
    # before a page runs, its title is the notebook's own (Vietnamese) Markdown title
    assert jobs[0].title == "Tổng quan nghèo đa chiều tỉnh Thái Nguyên"


def test_an_english_province_page_and_its_index_entry_have_the_english_title(data_root, tmp_path):
    overview = config.PROJ_ROOT / "notebooks" / "01-province-overview.ipynb"
    untitled = tmp_path / "99-untitled.ipynb"  # no title cell: the Markdown title stays
    cells = [nbformat.v4.new_markdown_cell("# Trang thử\n\nKhông có ô tiêu đề."), nbformat.v4.new_code_cell("1 + 1")]
    metadata = nbformat.read(overview, as_version=4).metadata
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata=metadata), untitled)
    jobs = batch.province_jobs(manifest=prepare.read_manifest(), lang="en", notebooks=[overview, untitled])
    out = tmp_path / "site"
    result = batch.run_batch(out, jobs=jobs, workers=1, lang="en", review_year=2025, progress=False)
    assert result.ok, result.summary()
    english = "Poor and near-poor households and multidimensional deprivation in Thai Nguyen province, 2025 review"
    stamp = json.loads((out / "province" / "01-province-overview.stamp.json").read_text(encoding="utf-8"))
    assert stamp["title"] == english
    page = (out / "province" / "01-province-overview.html").read_text(encoding="utf-8")
    assert f"<title>{english}</title>" in page
    assert nbformat.read(out / "province" / "01-province-overview.ipynb", as_version=4).metadata["title"] == english
    index = (out / "index.html").read_text(encoding="utf-8")
    assert f">{english}</a>" in index and "Tổng quan nghèo đa chiều" not in index
    other = json.loads((out / "province" / "99-untitled.stamp.json").read_text(encoding="utf-8"))
    assert other["title"] == "Trang thử" and ">Trang thử</a>" in index
