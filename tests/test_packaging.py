"""The package as it ships: metadata, dependencies that are what the library imports, a wheel that installs, make targets."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from povanalysis import config

ROOT = config.PROJ_ROOT
PACKAGE = ROOT / "povanalysis"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

#: Runtime dependencies the library needs without importing them, and why.
NOT_IMPORTED = {"vietnamadminunits": "the registry reads its data files (data.registry.dataset_path)"}


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _imported_distributions() -> dict[str, set[str]]:
    """Distribution → the package modules importing it (every import in povanalysis/, typing-only ones included)."""
    owners = packages_distributions()
    out: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "povanalysis":
                    continue
                assert top in owners, (
                    f"{path.relative_to(ROOT)} imports {top!r}, which no installed distribution provides"
                )
                for dist in owners[top]:
                    out.setdefault(dist.lower().replace("_", "-"), set()).add(str(path.relative_to(ROOT)))
    return out


def test_licence_is_an_spdx_expression():
    assert PROJECT["project"]["license"] == "MIT"
    assert "license-files" not in PROJECT["project"] or PROJECT["project"]["license-files"]
    (backend,) = [r for r in PROJECT["build-system"]["requires"] if r.startswith("setuptools")]
    assert backend == "setuptools>=77"  # the first setuptools reading an SPDX expression


def test_package_data_lists_only_files_that_exist():
    for package, patterns in PROJECT["tool"]["setuptools"].get("package-data", {}).items():
        root = ROOT.joinpath(*package.split("."))
        for pattern in patterns:
            matched = [p for p in root.glob(pattern) if p.is_file() and p.suffix != ".py"]
            assert matched, f"package-data {package}: {pattern!r} matches no data file"


def test_runtime_dependencies_are_what_the_library_imports():
    declared = {_name(r) for r in PROJECT["project"]["dependencies"]}
    imported = _imported_distributions()
    undeclared = {d: sorted(files)[:3] for d, files in imported.items() if d not in declared}
    assert not undeclared, f"imported by the library but not declared: {undeclared}"
    unused = declared - set(imported) - set(NOT_IMPORTED)
    assert not unused, f"declared but never imported by the library (move them to an extra): {sorted(unused)}"


def test_tools_live_in_extras():
    extras = PROJECT["project"]["optional-dependencies"]
    assert {_name(r) for r in extras["lab"]} == {"jupyterlab"}
    assert {"pytest", "nbval", "hypothesis", "ruff"} <= {_name(r) for r in extras["test"]}


def _run(*args, **kwargs) -> subprocess.CompletedProcess:
    run = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=240, **kwargs)
    assert run.returncode == 0, f"{args}: {run.stderr[-3000:]}"
    return run


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the sources (the checkout gets no build/ folder) without a download."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(PACKAGE, src / "povanalysis", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", dist, src)
    (built,) = dist.glob("povanalysis-*.whl")
    return built


@pytest.mark.packaging
def test_wheel_holds_the_modules_and_the_metadata(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = z.read(info).decode("utf-8")
        entry_points = z.read(info.replace("METADATA", "entry_points.txt")).decode("utf-8")
    modules = {p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*.py")}
    files = {n for n in names if ".dist-info/" not in n}
    assert files == modules  # every module, and nothing else (no tests, data or caches)
    assert "License-Expression: MIT" in metadata
    requires = [line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    runtime = {_name(r) for r in requires if "extra ==" not in r}
    assert runtime == {_name(r) for r in PROJECT["project"]["dependencies"]}
    assert any(r.startswith("jupyterlab") and 'extra == "lab"' in r for r in requires)
    assert "povanalysis = povanalysis.cli:main" in entry_points
    assert "povanalysis-encrypted = povanalysis.jupyter_env:EncryptedProvisioner" in entry_points


_CHECK = """
import importlib, importlib.metadata as md, json, pkgutil, sys
import povanalysis
names = sorted(m.name for m in pkgutil.walk_packages(povanalysis.__path__, "povanalysis."))
names = [n for n in names if not n.endswith(".__main__")]  # the command line, run on import
for name in names:
    importlib.import_module(name)
(provisioner,) = [e for e in md.entry_points(group="jupyter_client.kernel_provisioners") if e.name == "povanalysis-encrypted"]
print(json.dumps({"file": povanalysis.__file__, "version": md.version("povanalysis"), "modules": names,
                  "provisioner": provisioner.load().__module__}))
"""


@pytest.mark.packaging
def test_wheel_installs_into_a_new_environment(wheel, tmp_path):
    env = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", env)
    python = env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    _run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", wheel)
    # the dependencies come from this environment (no download); the package only from the wheel
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    out = _run(python, "-I", "-c", _CHECK, cwd=tmp_path)
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert Path(found["file"]).is_relative_to(env)
    assert found["version"] == PROJECT["project"]["version"]
    modules = {
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__") for p in PACKAGE.rglob("*.py")
    }
    commands = {m for m in modules if m.endswith(".__main__")}  # run on import, not imported
    assert set(found["modules"]) == modules - {"povanalysis"} - commands  # all imported
    assert found["provisioner"] == "povanalysis.jupyter_env"
    script = env / ("Scripts/povanalysis.exe" if os.name == "nt" else "bin/povanalysis")
    assert "usage" in _run(script, "--help", cwd=tmp_path).stdout.lower()


def _make(tmp: Path, *args: str) -> str:
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy2(ROOT / name, tmp / name)
    return _run("make", "--no-print-directory", *args, cwd=tmp).stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_clean_keeps_the_input_data(tmp_path):
    raw = tmp_path / "data" / "raw"
    processed = tmp_path / "data" / "processed"
    for folder in (raw, processed, tmp_path / ".venv" / "bin", tmp_path / "reports"):
        folder.mkdir(parents=True)
    kept = [raw / "households.parquet", raw / "loans.parquet", raw / "README.md", processed / "README.md"]
    gone = [processed / "commune_year.parquet", tmp_path / ".venv" / "bin" / "python", tmp_path / "reports" / "a.html"]
    for path in kept + gone:
        path.write_text("x", encoding="utf-8")
    _make(tmp_path, "clean")
    assert [p for p in kept if not p.exists()] == []
    assert [p for p in gone if p.exists()] == []


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_installs_the_extras_and_the_jupyter_set_up(tmp_path):
    lab = _make(tmp_path, "-n", "lab")
    assert "pip install --quiet -e '.[lab]'" in lab and "jupyter lab" in lab
    test = _make(tmp_path, "-n", "test")
    assert "pip install --quiet -e '.[test]'" in test and "-m povanalysis.jupyter_env" in test
