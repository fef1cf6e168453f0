"""No path of the machine that built a report in what the report folder holds: notebooks, tracebacks, summaries.

A published notebook records where its template was; a failure's traceback names every file
of the package and of the Python installation it went through.  Both go to a folder that
others read, so the machine's own folders (the project, the Python installation, the data,
the user's home, the temporary folder) are replaced by short placeholders.
"""

from __future__ import annotations

import os
import re
import sys
import sysconfig
import tempfile
from collections.abc import Iterable
from pathlib import Path

import nbformat

from .. import config

__all__ = ["machine_folders", "redact_paths", "redact_notebook", "relative_name"]


def machine_folders(extra: Iterable[tuple[str | os.PathLike, str]] = ()) -> list[tuple[str, str]]:
    """(folder, placeholder) pairs, longest folder first, so the most specific one is replaced.

    The project root becomes ``<project>``, the Python installation ``<python>``, the data
    folder ``<data>``, the temporary folder ``<tmp>`` and the home folder ``~``; ``extra``
    adds pairs (e.g. the output folder as ``.``).
    """
    pairs: list[tuple[str, str]] = [
        (str(config.PROJ_ROOT), "<project>"),
        (str(config.data_dir()), "<data>"),
        (sys.prefix, "<python>"),
        (sys.base_prefix, "<python>"),
        (sys.exec_prefix, "<python>"),
        (sysconfig.get_paths().get("purelib", ""), "<python>/site-packages"),
        (tempfile.gettempdir(), "<tmp>"),
        (str(Path.home()), "~"),
    ]
    pairs += [(str(folder), name) for folder, name in extra]
    seen: dict[str, str] = {}
    for folder, name in pairs:
        for variant in {folder, os.path.realpath(folder)} if folder else ():
            if len(variant) > 1:  # never "/"
                seen.setdefault(variant.rstrip("/"), name)
    return sorted(seen.items(), key=lambda p: len(p[0]), reverse=True)


def redact_paths(text: str, folders: list[tuple[str, str]] | None = None) -> str:
    """``text`` with the machine's folders replaced by placeholders (see :func:`machine_folders`).

    Examples
    --------
    >>> from povanalysis import config
    >>> redact_paths(f"File {config.PROJ_ROOT}/povanalysis/data/io.py, line 3")
    'File <project>/povanalysis/data/io.py, line 3'
    >>> redact_paths("no path here")
    'no path here'
    """
    if not isinstance(text, str):
        return text
    for folder, name in machine_folders() if folders is None else folders:
        if folder in text:  # a whole folder only: "/tmp" in "/tmp/x", not in "/tmpfiles"
            text = re.sub(re.escape(folder) + r"(?=[/\\'\"\s:,;)\]]|$)", lambda _m, n=name: n, text)
    return text


def redact_notebook(nb: nbformat.NotebookNode, folders: list[tuple[str, str]] | None = None) -> nbformat.NotebookNode:
    """``nb`` with the machine's folders redacted from its outputs, tracebacks and papermill metadata (in place)."""
    folders = machine_folders() if folders is None else folders
    pm = nb.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        if isinstance(pm.get(key), str):
            pm[key] = redact_paths(pm[key], folders)
    if isinstance(pm.get("exception"), str):
        pm["exception"] = redact_paths(pm["exception"], folders)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if "traceback" in output:
                output["traceback"] = [redact_paths(line, folders) for line in output["traceback"]]
            for key in ("evalue", "text"):
                if isinstance(output.get(key), str):
                    output[key] = redact_paths(output[key], folders)
            data = output.get("data", {})
            for mime in ("text/plain", "text/html", "text/markdown"):
                if isinstance(data.get(mime), str):
                    data[mime] = redact_paths(data[mime], folders)
    return nb


def relative_name(path: str | os.PathLike) -> str:
    """A notebook's path as published: relative to the project when inside it, else its file name.

    Examples
    --------
    >>> from povanalysis import config
    >>> relative_name(config.PROJ_ROOT / "notebooks" / "06-commune-report.ipynb")
    'notebooks/06-commune-report.ipynb'
    >>> relative_name("/elsewhere/custom.ipynb")
    'custom.ipynb'
    """
    path = Path(path)
    try:
        return path.resolve().relative_to(config.PROJ_ROOT.resolve()).as_posix()
    except ValueError:
        return path.name
