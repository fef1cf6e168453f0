"""Poverty-reduction analysis for Thai Nguyen province, Vietnam.

The subpackages read in the order of the analysis:

- ``data``: the input schema, reading and validation, the commune registry, the synthetic panel, the pipeline;
- ``measure``: the poverty standards, Alkire-Foster and FGT, aggregates, survey and small-area estimates;
- ``geo``: boundaries, maps, the old-to-new crosswalk, hot spots;
- ``impact``: the impact of VBSP credit;
- ``goals``: 2026-2030 targets, projections, their backtests and the outlook behind the reports;
- ``targeting``: eligibility, the risk of falling back, budget allocation;
- ``figures``: the palette and the charts every figure shares;
- ``reports``: the per-commune reports, their HTML, the index and the batch;
- ``common``: argument checks, labels and number formats, files.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

__version__ = "0.2.0"

#: Old module names (``povanalysis.<old>``) and where each moved in 0.2.0.  The old names keep
#: working, with a DeprecationWarning, for one release.
MOVED: dict[str, str] = {
    "schema": "data.schema",
    "io": "data.io",
    "registry": "data.registry",
    "synth": "data.synth",
    "pipeline": "data.pipeline",
    "standards": "measure.standards",
    "indicators": "measure.indicators",
    "aggregates": "measure.aggregates",
    "survey": "measure.survey",
    "sae": "measure.sae",
    "maps": "geo.maps",
    "crosswalk": "geo.crosswalk",
    "hotspots": "geo.hotspots",
    "credit": "impact.credit",
    "did": "impact.did",
    "credit_simulation": "impact.simulation",
    "targets": "goals.targets",
    "projections": "goals.projections",
    "backtest": "goals.backtest",
    "baselines": "goals.baselines",
    "outlook": "goals.outlook",
    "risk": "targeting.risk",
    "allocation": "targeting.allocation",
    "charts": "figures.charts",
    "labels": "common.labels",
    "report": "reports.sections",
    "html": "reports.html",
    "index": "reports.index",
    "engine": "reports.engine",
    "batch": "reports.batch",
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Import ``povanalysis.<old>`` as the module it moved to, with a DeprecationWarning."""

    def find_spec(self, fullname, path=None, target=None):
        prefix, _, name = fullname.partition(".")
        if prefix == __name__ and name in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        new = f"{__name__}.{MOVED[spec.name.partition('.')[2]]}"
        warnings.warn(
            f"{spec.name} moved to {new}; the old name will be removed in the next release",
            DeprecationWarning,
            stacklevel=3,
        )
        return importlib.import_module(new)

    def exec_module(self, module):
        return None


if not any(isinstance(f, _MovedModules) for f in sys.meta_path):
    sys.meta_path.append(_MovedModules())


def __getattr__(name: str):
    if name in MOVED:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
