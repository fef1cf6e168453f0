"""The 2026–2030 outlook behind the reports: one projection model, chosen and described by its backtest."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import pandas as pd

from .. import config
from ..common.cache import cache_folder, cache_key, cached_result, frame_digest
from ..common.checks import require_frame
from ..common.deprecation import moved_names
from ..measure import aggregates
from . import backtest as backtests
from . import baselines, projections, rebase, transition

__all__ = ["DEFAULT_SETTINGS", "project", "Outlook", "outlook", "p_meet_table"]

#: Settings of the 2026–2030 projections, read by notebook 03 and the commune reports: the
#: standard projected, the model behind the probabilities (the simplest one whose backtest passed on
#: the demo data when it was chosen; :attr:`Outlook.passes` says whether it passes on the data at hand,
#: and the reports call its probabilities a scenario when it does not; see
#: :func:`povanalysis.goals.backtest.backtest`), the groups whose change is pooled,
#: the province target turned into commune reference paths where no commune target applies,
#: the rule that turns it, the intervals' level and the simulations.
DEFAULT_SETTINGS: Mapping[str, object] = MappingProxyType(
    {
        "standard": "2026-2030",
        "model": "drift",
        "pool_by": "old_area",
        "fallback": "province_high",
        "fallback_rule": "proportional",
        "alpha": 0.10,
        "n_sim": 1000,
        "seed": 2026,
        "disagreement": 0.20,
    }
)

_UNITS = ["commune_code", "minority", "old_area"]
_MODELS = ("drift", "trend", "transition", "persistence")


def project(
    classified: pd.DataFrame,
    *,
    model: str = DEFAULT_SETTINGS["model"],
    standard: str = DEFAULT_SETTINGS["standard"],
    years: Sequence[int] = projections.PROJECTION_YEARS,
    pool_by: str = DEFAULT_SETTINGS["pool_by"],
    alpha: float = DEFAULT_SETTINGS["alpha"],
    n_sim: int = DEFAULT_SETTINGS["n_sim"],
    seed: int = 0,
    min_cell: int | None = None,
    cache: str | os.PathLike | bool | None = True,
) -> projections.Projection:
    """Project the poor-household rate by commune, ethnic minority and pre-merger province with one model.

    Every review is first classified under ``standard`` (:func:`povanalysis.goals.rebase.reclassify`),
    so the projection continues the series that standard would have recorded.

    The projection is kept on disk (Parquet and JSON, :func:`povanalysis.common.cache.cached_result`)
    under a key made of a digest of ``classified``, the arguments, the publication threshold and
    the code this module runs: notebook 03 and the commune reports' shared tables, which ask for
    the same projection, compute it once.

    Parameters
    ----------
    classified : DataFrame
        The household panel (``household_id``, ``review_year``, ``commune_code``, ``minority``,
        ``old_area``, ``area``, ``income_pc`` and the deprivation columns of ``standard``).
    model : {"drift", "trend", "transition", "persistence"}
    standard : str
    years, alpha, n_sim, seed, min_cell
        As in :func:`povanalysis.goals.projections.trend_projection`.
    pool_by : str
        Groups with their own yearly change (drift, persistence) or trend (trend).
    cache : path, bool or None
        ``True`` (default) the data's cache folder (:func:`povanalysis.config.cache_dir`), a
        folder, or ``None`` to project every time.
    """
    if model not in _MODELS:
        raise ValueError(f"'model' must be one of {_MODELS}, got {model!r}")
    require_frame(classified, "classified", [])
    if isinstance(years, Iterable) and not isinstance(years, str):  # read once, and a list for the key
        years = list(years)
    arguments = dict(model=model, standard=standard, years=years, pool_by=pool_by, alpha=alpha, n_sim=n_sim, seed=seed)
    folder = cache_folder(cache)
    if folder is None:
        return _project(classified, min_cell=min_cell, **arguments)
    key = cache_key(
        __name__,
        function="project",
        classified=frame_digest(classified),
        min_cell=config.MIN_CELL if min_cell is None else min_cell,
        **arguments,
    )
    return cached_result(
        folder,
        key,
        lambda: _project(classified, min_cell=min_cell, **arguments),
        classes=[projections.Projection, projections.TrendFit],
    )


def _project(classified, *, model, standard, years, pool_by, alpha, n_sim, seed, min_cell) -> projections.Projection:
    series = rebase.reclassify(classified, standard)
    common = dict(years=years, alpha=alpha, n_sim=n_sim, seed=seed, min_cell=min_cell)
    if model == "transition":
        return transition.transition_projection(series, by=_UNITS, **common)
    counts = aggregates.poverty_counts(series, by=_UNITS + ["review_year"], min_cell=min_cell)
    counts["standard"] = series["standard"].iloc[0]
    if model == "trend":
        return projections.trend_projection(counts, by=_UNITS, slope_by=pool_by, **common)
    if model == "drift":
        return baselines.drift_projection(counts, by=_UNITS, pool_by=pool_by, **common)
    return baselines.persistence_projection(counts, by=_UNITS, pool_by=pool_by, **common)


@dataclass
class Outlook:
    """The projection behind the reports and how well its model predicted past reviews.

    Attributes
    ----------
    projection : Projection
        By ``commune_code`` (pooled from the finer units).
    model : str
    standard : str
    scores : DataFrame
        The backtest scores of the model at the province level by horizon
        (:meth:`povanalysis.goals.backtest.Backtest.scores`).
    passes : bool
        Whether the model passes its backtest (:meth:`povanalysis.goals.backtest.Backtest.passes`).
    alpha : float
    """

    projection: projections.Projection = field(repr=False)
    model: str
    standard: str
    scores: pd.DataFrame = field(repr=False)
    passes: bool
    alpha: float

    def summary(self) -> str:
        """The model and its backtest in one paragraph (returned, not printed)."""
        return self.backtest_text("en")

    def model_name(self, lang: str = "vi") -> str:
        """The model's name in ``lang`` (:func:`povanalysis.reports.prose.goals.model_name`)."""
        from ..reports.prose.goals import model_name

        return model_name(self.model, lang)

    def backtest_text(self, lang: str = "vi") -> str:
        """The model and its backtest in one sentence (:func:`povanalysis.reports.prose.goals.backtest_text`)."""
        from ..reports.prose.goals import backtest_text

        return backtest_text(self, lang)


def outlook(
    classified: pd.DataFrame,
    *,
    settings: Mapping | None = None,
    min_cell: int | None = None,
    cache: str | os.PathLike | None = None,
) -> Outlook:
    """The projection behind the reports, with the backtest of its model at the province level.

    ``settings`` override :data:`DEFAULT_SETTINGS` key by key; ``cache`` is the folder where the
    backtest and the projection are stored and read back (:func:`povanalysis.goals.backtest.backtest`,
    :func:`project`).
    """
    s = {**DEFAULT_SETTINGS, **(settings or {})}
    unknown = set(s) - set(DEFAULT_SETTINGS)
    if unknown:
        raise ValueError(f"'settings' has unknown keys {sorted(unknown)} (known: {sorted(DEFAULT_SETTINGS)})")
    proj = project(
        classified,
        model=s["model"],
        standard=s["standard"],
        pool_by=s["pool_by"],
        alpha=s["alpha"],
        n_sim=s["n_sim"],
        seed=s["seed"],
        min_cell=min_cell,
        cache=cache,
    )
    bt = backtests.backtest(
        classified,
        models=[s["model"]],
        standards=[s["standard"]],
        levels=("province",),
        alpha=s["alpha"],
        n_sim=min(int(s["n_sim"]), 500),
        seed=s["seed"],
        options={
            s["model"]: {"pool_by": s["pool_by"]}
            if s["model"] in ("drift", "persistence")
            else {"slope_by": s["pool_by"]}
            if s["model"] == "trend"
            else {}
        },
        cache=cache,
    )
    scores = bt.scores(("model", "standard", "level", "horizon"))
    return Outlook(
        projection=proj.aggregate("commune_code"),
        model=s["model"],
        standard=s["standard"],
        scores=scores.reset_index(drop=True),
        passes=bt.passes(s["model"], standard=s["standard"]),
        alpha=float(s["alpha"]),
    )


def p_meet_table(status: Mapping[str, pd.DataFrame], *, year: int | None = None) -> pd.DataFrame:
    """Probabilities of meeting each target under several models, side by side.

    Parameters
    ----------
    status : mapping of model name to DataFrame
        :func:`povanalysis.goals.requirements.group_status` of the same targets under each model.
    year : int, optional
        Default: the last year of each table.

    Returns
    -------
    DataFrame
        ``target`` and one ``p_meet`` column per model; where they disagree, in words:
        :func:`povanalysis.reports.prose.goals.p_meet_text`.

    Examples
    --------
    >>> st = pd.DataFrame({"target": ["p", "p"], "year": [2029, 2030], "p_meet": [0.5, 0.7]})
    >>> p_meet_table({"drift": st, "trend": st.assign(p_meet=[0.1, 0.2])}).to_dict("records")
    [{'target': 'p', 'drift': 0.7, 'trend': 0.2}]
    """
    frames = []
    for name, st in status.items():
        y = int(st["year"].max()) if year is None else int(year)
        f = st[st["year"] == y].set_index("target")["p_meet"].rename(name)
        frames.append(f)
    return pd.concat(frames, axis=1).reset_index()


def compare_p_meet(
    status: Mapping[str, pd.DataFrame],
    *,
    year: int | None = None,
    margin: float = DEFAULT_SETTINGS["disagreement"],
    lang: str = "vi",
) -> tuple[pd.DataFrame, str]:
    """Deprecated: :func:`p_meet_table` and :func:`povanalysis.reports.prose.goals.p_meet_text`."""
    warnings.warn(
        "povanalysis.goals.outlook.compare_p_meet is deprecated: use outlook.p_meet_table(status) and "
        "povanalysis.reports.prose.goals.p_meet_text(table, margin=..., lang=...)",
        DeprecationWarning,
        stacklevel=2,
    )
    from ..reports.prose.goals import p_meet_text

    table = p_meet_table(status, year=year)
    return table, p_meet_text(table, margin=margin, lang=lang)


#: Names that moved out of this module in 0.2.0, and their new homes (importable here for one release).
MOVED: dict[str, str] = {"MODEL_NAMES": "povanalysis.reports.prose.goals"}


__getattr__ = moved_names(__name__, MOVED)
