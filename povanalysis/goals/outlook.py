"""The 2026–2030 outlook behind the reports: one projection model, chosen and described by its backtest."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..measure import aggregates
from . import backtest as backtests, baselines, projections
from ..common.labels import check_lang, format_number, format_percent

__all__ = ["DEFAULT_SETTINGS", "MODEL_NAMES", "project", "Outlook", "outlook", "compare_p_meet"]

#: Settings of the 2026–2030 projections, read by notebook 03 and the commune reports: the
#: standard projected, the model behind the probabilities (the one that passes its backtest on
#: the demo data; see :func:`povanalysis.goals.backtest.backtest`), the groups whose change is pooled,
#: the province target turned into commune reference paths where no commune target applies,
#: the rule that turns it, the intervals' level and the simulations.
DEFAULT_SETTINGS: Mapping[str, object] = MappingProxyType({
    "standard": "2026-2030",
    "model": "drift",
    "pool_by": "old_area",
    "fallback": "province_high",
    "fallback_rule": "proportional",
    "alpha": 0.10,
    "n_sim": 1000,
    "seed": 2026,
    "disagreement": 0.20,
})

#: Names of the projection models in both languages.
MODEL_NAMES: Mapping[str, tuple[str, str]] = MappingProxyType({
    "drift": ("xu hướng thay đổi bình quân hằng năm (bước ngẫu nhiên có xu hướng)", "average yearly change (random walk with drift)"),
    "trend": ("đường xu hướng logit theo năm", "logit-linear trend"),
    "transition": ("mô hình chuyển trạng thái của hộ", "household transition model"),
    "persistence": ("giữ nguyên mức của kỳ rà soát cuối", "last review carried forward"),
})

_UNITS = ["commune_code", "minority", "old_area"]
_AHEAD = {1: "one year", 2: "two years", 3: "three years"}


def project(classified: pd.DataFrame, *, model: str = "drift", standard: str = "2026-2030",
            years: Sequence[int] = projections.PROJECTION_YEARS, pool_by: str = "old_area", alpha: float = 0.10,
            n_sim: int = 1000, seed: int = 0, min_cell: int | None = None) -> projections.Projection:
    """Project the poor-household rate by commune, ethnic minority and pre-merger province with one model.

    Every review is first classified under ``standard`` (:func:`povanalysis.goals.projections.reclassify`),
    so the projection continues the series that standard would have recorded.

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
    """
    if model not in MODEL_NAMES:
        raise ValueError(f"'model' must be one of {tuple(MODEL_NAMES)}, got {model!r}")
    series = projections.reclassify(classified, standard)
    common = dict(years=years, alpha=alpha, n_sim=n_sim, seed=seed, min_cell=min_cell)
    if model == "transition":
        return projections.transition_projection(series, by=_UNITS, **common)
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
        """The model's name in ``lang``."""
        pair = MODEL_NAMES[self.model]
        return pair[0] if check_lang(lang) == "vi" else pair[1]

    def backtest_text(self, lang: str = "vi") -> str:
        """One sentence: which model, its errors on held-out reviews and how often its intervals covered them.

        Examples
        --------
        >>> s = pd.DataFrame({"horizon": [1, 2], "folds": [2, 1], "mean_abs_error": [0.001, 0.002],
        ...                   "coverage": [1.0, 1.0]})
        >>> o = Outlook(None, "drift", "2026-2030", s, True, 0.10)
        >>> o.backtest_text("en")
        'Projections use the average yearly change (random walk with drift) model. Fitted on earlier reviews and checked against the later ones it had not seen, its province rate missed by 0.10 points on average one year ahead and 0.20 points on average two years ahead; its 90% prediction intervals held 3 of the 3 recorded rates.'
        """
        vi = check_lang(lang) == "vi"
        s = self.scores.sort_values("horizon")
        parts = []
        for r in s.itertuples(index=False):
            pts = format_number(100 * r.mean_abs_error, lang, digits=2)
            parts.append((f"{pts} điểm phần trăm khi dự báo trước {r.horizon} năm" if vi else
                          f"{pts} points on average {_AHEAD.get(r.horizon, f'{r.horizon} years')} ahead"))
        folds = int(s["folds"].sum())
        held = int(round(float((s["coverage"] * s["folds"]).sum())))
        level = format_number(100 * (1 - self.alpha), lang, digits=0)
        if vi:
            text = (f"Dự báo dùng mô hình {self.model_name('vi')}. Khi ước lượng trên các kỳ rà soát trước và so với các "
                    f"kỳ sau mà mô hình chưa thấy, sai số bình quân của tỷ lệ toàn tỉnh là " + "; ".join(parts)
                    + f"; khoảng dự báo {level}% chứa {held}/{folds} tỷ lệ ghi nhận thực tế.")
            if not self.passes:
                text += " Mô hình chưa đạt yêu cầu kiểm định, nên các con số chỉ là kịch bản tham khảo."
        else:
            text = (f"Projections use the {self.model_name('en')} model. Fitted on earlier reviews and checked against "
                    f"the later ones it had not seen, its province rate missed by " + " and ".join(parts)
                    + f"; its {level}% prediction intervals held {held} of the {folds} recorded rates.")
            if not self.passes:
                text += " The model does not pass its backtest, so these figures are a scenario only."
        return text


def outlook(classified: pd.DataFrame, *, settings: Mapping | None = None, min_cell: int | None = None) -> Outlook:
    """The projection behind the reports, with the backtest of its model at the province level.

    ``settings`` override :data:`DEFAULT_SETTINGS` key by key.
    """
    s = {**DEFAULT_SETTINGS, **(settings or {})}
    unknown = set(s) - set(DEFAULT_SETTINGS)
    if unknown:
        raise ValueError(f"'settings' has unknown keys {sorted(unknown)} (known: {sorted(DEFAULT_SETTINGS)})")
    proj = project(classified, model=s["model"], standard=s["standard"], pool_by=s["pool_by"], alpha=s["alpha"],
                   n_sim=s["n_sim"], seed=s["seed"], min_cell=min_cell)
    bt = backtests.backtest(classified, models=[s["model"]], standards=[s["standard"]], levels=("province",),
                            alpha=s["alpha"], n_sim=min(int(s["n_sim"]), 500), seed=s["seed"],
                            options={s["model"]: {"pool_by": s["pool_by"]} if s["model"] in ("drift", "persistence")
                                     else {"slope_by": s["pool_by"]} if s["model"] == "trend" else {}})
    scores = bt.scores(("model", "standard", "level", "horizon"))
    return Outlook(projection=proj.aggregate("commune_code"), model=s["model"], standard=s["standard"],
                   scores=scores.reset_index(drop=True), passes=bt.passes(s["model"], standard=s["standard"]),
                   alpha=float(s["alpha"]))


def compare_p_meet(status: Mapping[str, pd.DataFrame], *, year: int | None = None,
                   margin: float = DEFAULT_SETTINGS["disagreement"], lang: str = "vi") -> tuple[pd.DataFrame, str]:
    """Probabilities of meeting each target under several models, side by side, and where they disagree.

    Parameters
    ----------
    status : mapping of model name to DataFrame
        :func:`povanalysis.goals.projections.group_status` of the same targets under each model.
    year : int, optional
        Default: the last year.
    margin : float
        Disagreement worth a sentence (0.20: twenty points of probability).

    Returns
    -------
    (DataFrame, str)
        ``target``, one ``p_meet`` column per model; and a sentence naming the targets whose
        probabilities differ by more than ``margin`` (empty when none).
    """
    vi = check_lang(lang) == "vi"
    frames = []
    for name, st in status.items():
        y = int(st["year"].max()) if year is None else int(year)
        f = st[st["year"] == y].set_index("target")["p_meet"].rename(name)
        frames.append(f)
    table = pd.concat(frames, axis=1)
    spread = table.max(axis=1) - table.min(axis=1)
    apart = spread[spread > margin].index.tolist()
    if not apart:
        return table.reset_index(), ""
    lines = []
    for t in apart:
        vals = ", ".join(f"{MODEL_NAMES.get(m, (m, m))[0 if vi else 1]} {format_percent(table.loc[t, m], lang, digits=0)}"
                         for m in table.columns if np.isfinite(table.loc[t, m]))
        lines.append(f"{t}: {vals}")
    text = (("Các mô hình cho xác suất đạt mục tiêu rất khác nhau — " if vi else
             "The models give very different probabilities of meeting — ") + "; ".join(lines) + "."
            + (" Xác suất phụ thuộc vào mô hình; con số trong báo cáo theo mô hình đã qua kiểm định." if vi else
               " The probability depends on the model; the reports use the model that passed its backtest."))
    return table.reset_index(), text
