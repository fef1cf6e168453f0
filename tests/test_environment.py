"""pyproject.toml declares the dependencies once; environment.yml must mirror them."""

import re
import tomllib

from povanalysis import config


def _name_spec(requirement: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(.*)$", requirement)
    return m.group(1).lower().replace("_", "-"), m.group(3).replace(" ", "")


def _yaml_dependencies(text: str) -> list[str]:
    deps = []
    body = text.split("dependencies:", 1)[1]
    for line in body.splitlines():
        m = re.match(r"^\s+-\s+([^#]+?)\s*$", line)
        if m and not m.group(1).endswith(":"):
            deps.append(m.group(1))
    return deps


def test_environment_yml_mirrors_pyproject():
    """Every dependency, of the library and of each extra (test, lab), with the same bounds, and nothing else."""
    project = tomllib.loads((config.PROJ_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    assert set(extras) == {"test", "lab"}
    declared = dict(_name_spec(r) for r in project["dependencies"] + [r for e in extras.values() for r in e])
    listed = _yaml_dependencies((config.PROJ_ROOT / "environment.yml").read_text(encoding="utf-8"))
    mirrored = dict(_name_spec(r) for r in listed if r not in ("pip", "-e .") and not r.startswith("python"))
    missing = {k: v for k, v in declared.items() if mirrored.get(k) != v}
    assert not missing, f"pyproject.toml dependencies missing from environment.yml (or with other bounds): {missing}"
    assert mirrored == declared
