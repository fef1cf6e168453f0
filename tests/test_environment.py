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
    project = tomllib.loads((config.PROJ_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = dict(_name_spec(r) for r in project["dependencies"] + project["optional-dependencies"]["test"])
    listed = _yaml_dependencies((config.PROJ_ROOT / "environment.yml").read_text(encoding="utf-8"))
    mirrored = dict(_name_spec(r) for r in listed if r not in ("pip", "-e .") and not r.startswith("python"))
    assert mirrored == declared
