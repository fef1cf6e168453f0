"""The warm-kernel engine: parameters read as papermill reads them, checked before a kernel starts."""

from __future__ import annotations

import nbformat
import papermill
import pytest

from povanalysis import config
from povanalysis.reports import engine

NOTEBOOKS = sorted((config.PROJ_ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_parameters_are_those_papermill_reads(path):
    ours = engine.notebook_parameters(nbformat.read(path, as_version=4))
    theirs = papermill.inspect_notebook(str(path))
    assert list(ours) == list(theirs)
    for name, (kind, default, help_text) in ours.items():
        assert default == theirs[name]["default"] and help_text == theirs[name]["help"], name
        if theirs[name]["inferred_type_name"] != "None":
            assert kind == theirs[name]["inferred_type_name"], name


def test_annotated_parameter_and_a_hash_inside_a_string():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(
        'label: str = "a # b"  # shown label\nn_sim: int = 200\nseed = None  # random seed'
    )
    cell.metadata["tags"] = ["parameters"]
    nb.cells.append(cell)
    assert engine.notebook_parameters(nb) == {
        "label": ("str", '"a # b"', "shown label"),
        "n_sim": ("int", "200", ""),
        "seed": ("NoneType", "None", "random seed"),
    }
    assert engine.notebook_parameters(nbformat.v4.new_notebook()) == {}
