"""The notebooks as researchers run them with papermill: documented parameters, codes typed with -p or -r."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill
import pytest

from povanalysis import config
from povanalysis.data import pipeline

NOTEBOOKS = config.PROJ_ROOT / "notebooks"
ALL = sorted(NOTEBOOKS.glob("*.ipynb"))
COMMUNE = NOTEBOOKS / "06-commune-report.ipynb"


def papermill_command() -> list[str]:
    """The papermill command of the running environment."""
    script = Path(sys.executable).with_name("papermill")
    return [str(script)] if script.exists() else [sys.executable, "-m", "papermill"]


@pytest.fixture(scope="module")
def data_env():
    """The environment of a papermill run: the test data (generated when missing)."""
    root = Path(os.environ.get("POVANALYSIS_DATA_DIR") or config.PROJ_ROOT / "tests" / "_artifacts" / "data")
    pipeline.ensure_demo_data(root, seed=20240, scale=0.02)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("POVANALYSIS_DATA_DIR", str(root))
        yield {**os.environ, "POVANALYSIS_DATA_DIR": str(root)}


def test_seven_notebooks():
    assert [p.name[:2] for p in ALL] == ["01", "02", "03", "04", "05", "06", "07"]


@pytest.mark.parametrize("path", ALL, ids=[p.stem for p in ALL])
def test_help_notebook_documents_every_parameter(path):
    run = subprocess.run(
        [*papermill_command(), "--help-notebook", str(path)], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    text = " ".join(run.stdout.split())  # papermill wraps long help lines
    declared = papermill.inspect_notebook(str(path))
    assert declared
    for name, info in declared.items():
        assert info["inferred_type_name"] not in ("None", "Unknown type"), f"{name}: no type"
        assert info["help"], f"{name}: no comment saying what it is and its allowed values"
        assert f"{name}: {info['inferred_type_name']} (default {info['default']})" in text, name
        assert " ".join(info["help"].split()) in text, name
        if name.endswith("_code"):
            assert "-p" in info["help"], f"{name}: the help says how to pass a code with -p"


def _title(nb: nbformat.NotebookNode) -> str:
    cell = next(c for c in nb.cells if c.get("id") == "report-title")
    return "".join(o.get("data", {}).get("text/markdown", "") for o in cell.outputs)


def test_commune_report_takes_the_integer_papermill_makes_of_a_code(data_env, tmp_path):
    # papermill -p commune_code 01840 passes the integer 1840
    nb = papermill.execute_notebook(
        str(COMMUNE),
        str(tmp_path / "out.ipynb"),
        parameters={"commune_code": 1840},
        kernel_name="python3",
        progress_bar=False,
        cwd=str(NOTEBOOKS),
    )
    assert nb.metadata.papermill["parameters"] == {"commune_code": 1840}
    assert "Phường Đức Xuân" in _title(nb)
    with pytest.raises(papermill.PapermillExecutionError, match=r"(?s)'01841'.*nearest codes: '01840' Phường Đức Xuân"):
        papermill.execute_notebook(
            str(COMMUNE),
            str(tmp_path / "wrong.ipynb"),
            parameters={"commune_code": 1841},
            kernel_name="python3",
            progress_bar=False,
            cwd=str(NOTEBOOKS),
        )


def test_commune_report_from_the_command_line_with_p(data_env, tmp_path):
    out = tmp_path / "out.ipynb"
    run = subprocess.run(
        [*papermill_command(), str(COMMUNE), str(out), "-p", "commune_code", "05665", "-p", "lang", "en"],
        capture_output=True,
        text=True,
        env=data_env,
        cwd=str(NOTEBOOKS),
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    nb = nbformat.read(out, as_version=4)
    assert nb.metadata.papermill["parameters"] == {"commune_code": 5665, "lang": "en"}
    assert re.search(r"Văn Lăng", _title(nb))


def test_published_tables_notebook_from_the_command_line_with_p(data_env, tmp_path):
    out = tmp_path / "out.ipynb"
    run = subprocess.run(
        [*papermill_command(), str(NOTEBOOKS / "07-published-tables.ipynb"), str(out)]
        + ["-p", "commune_code", "02020", "-p", "lang", "en"],
        capture_output=True,
        text=True,
        env=data_env,
        cwd=str(NOTEBOOKS),
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    nb = nbformat.read(out, as_version=4)
    assert nb.metadata.papermill["parameters"] == {"commune_code": 2020, "lang": "en"}
    cell = next(c for c in nb.cells if c.get("id") == "report-overview")
    text = "".join(o.get("data", {}).get("text/markdown", "") for o in cell.outputs)
    assert "Xã Chợ Đồn" in text and "According to the 2025 review tables" in text
