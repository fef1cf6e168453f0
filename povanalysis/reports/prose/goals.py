"""Sentences and labels of the 2026–2030 goals in Vietnamese and English: rebasing, projections, requirements,
backtests, targets and their conflicts.

Every function takes a results object of :mod:`povanalysis.goals` (or its tables) and a language.
This module imports no model module but :mod:`povanalysis.goals.series`, so that a model's
one-line delegation (``Rebase.headline``) can import it without a cycle.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ...common.checks import require_frame
from ...common.labels import check_lang, format_number, format_percent, label, pick
from ...common.safe import escape_markdown
from ...goals.series import standard_in_force
from ...measure.standards import Standard, get_standard

if TYPE_CHECKING:
    from ...goals.backtest import Backtest
    from ...goals.outlook import Outlook
    from ...goals.projections import Projection
    from ...goals.rebase import Rebase
    from ...goals.targets import Target

__all__ = [
    "FIGURE_TEXT",
    "STANDARD_SHORT",
    "MODEL_NAMES",
    "MODEL_LABELS",
    "LEVEL_LABELS",
    "SCORE_COLUMNS",
    "POPULATION_TEXT",
    "figure_text",
    "standard_short",
    "decree_name",
    "rebase_headline",
    "projection_basis",
    "requirements_headline",
    "scenario_headline",
    "gap_labels",
    "model_name",
    "model_label",
    "level_label",
    "backtest_text",
    "readable_scores",
    "p_meet_text",
    "target_rule",
    "target_table",
    "conflict_messages",
]

#: Labels of the goals' figures: key → (Vietnamese, English), with ``{}`` fields.
FIGURE_TEXT: Mapping[str, tuple[str, str]] = {
    "observed": ("Kết quả rà soát", "Review results"),
    "projection": ("Dự báo", "Projection"),
    "band": ("Khoảng dự báo {p}%", "{p}% prediction interval"),
    "target": ("Lộ trình mục tiêu", "Target path"),
    "gap": ("Chênh lệch so với mục tiêu năm {y} (điểm phần trăm)", "Gap to the {y} target (percentage points)"),
    "gap_title": (
        "Chênh lệch giữa dự báo và mục tiêu năm {y}, theo xã",
        "Gap between projection and target in {y}, by commune",
    ),
    "behind": ("Chậm so với lộ trình", "Behind the path"),
    "on_track": ("Đạt lộ trình", "On track"),
    "hidden": ("{n} xã không công bố (dưới ngưỡng số hộ)", "{n} commune(s) suppressed (too few households)"),
    "no_target": ("{n} xã không có mục tiêu", "{n} commune(s) without a target"),
    "suppressed": ("không công bố: dưới ngưỡng số hộ", "suppressed: too few households"),
    "fan_title": ("{who}: tỷ lệ hộ nghèo dự báo {y0}–{y1}", "{who}: projected poor-household rate {y0}–{y1}"),
    "year": ("Năm rà soát", "Review year"),
    "recorded": ("Kết quả rà soát", "Recorded"),
    "backtest_title": (
        "Kiểm định trên các kỳ rà soát đã qua ({level}): dự báo, khoảng dự báo {p}% và kết quả thực tế",
        "Backtest on past reviews ({level}): projections, {p}% prediction intervals and what the reviews recorded",
    ),
    "backtest_x": ("Chuẩn · năm gốc→năm dự báo", "Standard · origin→year predicted"),
    "poor_rate": ("Tỷ lệ hộ nghèo", "Poor-household rate"),
}

#: Short names of the standards in sentences.
STANDARD_SHORT: Mapping[str, tuple[str, str]] = {
    "2022-2025": ("chuẩn 2022–2025", "2022–2025 standard"),
    "2026-2030": ("chuẩn 2026–2030", "2026–2030 standard"),
    "2026-2030-draft12": ("chuẩn 2026–2030 (12 chỉ số)", "2026–2030 standard (12 indicators)"),
}

#: Names of the projection models in sentences.
MODEL_NAMES: Mapping[str, tuple[str, str]] = {
    "drift": (
        "xu hướng thay đổi bình quân hằng năm (bước ngẫu nhiên có xu hướng)",
        "average yearly change (random walk with drift)",
    ),
    "trend": ("đường xu hướng logit theo năm", "logit-linear trend"),
    "transition": ("mô hình chuyển trạng thái của hộ", "household transition model"),
    "persistence": ("giữ nguyên mức của kỳ rà soát cuối", "last review carried forward"),
}

#: Short names of the projection models in tables and legends.
MODEL_LABELS: Mapping[str, tuple[str, str]] = {
    "drift": ("Thay đổi bình quân", "Average change (drift)"),
    "trend": ("Xu hướng logit", "Logit trend"),
    "transition": ("Chuyển trạng thái", "Transitions"),
    "persistence": ("Giữ nguyên kỳ cuối", "No change"),
}

#: Names of the backtest levels.
LEVEL_LABELS: Mapping[str, tuple[str, str]] = {
    "province": ("Toàn tỉnh", "Province"),
    "minority": ("Theo dân tộc", "By ethnicity"),
    "old_area": ("Theo tỉnh cũ", "By former province"),
    "disadvantaged": ("Xã đặc biệt khó khăn / khác", "Disadvantaged / other communes"),
    "commune": ("Từng xã", "Each commune"),
}

#: Column names of :func:`readable_scores`.
SCORE_COLUMNS: Mapping[str, tuple[str, str]] = {
    "model": ("Mô hình", "Model"),
    "standard": ("Chuẩn nghèo", "Standard"),
    "level": ("Cấp", "Level"),
    "horizon": ("Dự báo trước (năm)", "Years ahead"),
    "folds": ("Số lần so sánh", "Comparisons"),
    "mean_error": ("Sai số bình quân (điểm %)", "Mean error (points)"),
    "mean_abs_error": ("Sai số tuyệt đối bình quân (điểm %)", "Mean absolute error (points)"),
    "max_abs_error": ("Sai số tuyệt đối lớn nhất (điểm %)", "Largest absolute error (points)"),
    "coverage": ("Tỷ lệ nằm trong khoảng dự báo", "Share inside the interval"),
    "interval_score": ("Điểm khoảng (càng thấp càng tốt)", "Interval score (lower is better)"),
}

#: Whom each population of a target covers, in words.
POPULATION_TEXT: Mapping[str, tuple[str, str]] = {
    "all": ("toàn tỉnh", "the province"),
    "disadvantaged": ("các xã đặc biệt khó khăn", "disadvantaged communes"),
    "minority": ("hộ dân tộc thiểu số", "ethnic-minority households"),
    "minority_area": ("vùng đồng bào dân tộc thiểu số và miền núi", "ethnic-minority and mountainous areas"),
    "communes": ("các xã đã chọn", "the listed communes"),
    "column": ("nhóm đã chọn", "the selected group"),
}

_AHEAD = {1: "one year", 2: "two years", 3: "three years"}


def figure_text(key: str, lang: str, **fields: object) -> str:
    """A label of :data:`FIGURE_TEXT` in ``lang``, its fields filled.

    Examples
    --------
    >>> figure_text("band", "en", p=90)
    '90% prediction interval'
    """
    return pick(FIGURE_TEXT, key, lang).format(**fields)


def _name(table: Mapping[str, tuple[str, str]], key: str, lang: str) -> str:
    pair = table.get(key)
    return key if pair is None else pair[0 if check_lang(lang) == "vi" else 1]


def standard_short(key: str, lang: str) -> str:
    """The short name of a standard in sentences (its key when unknown).

    Examples
    --------
    >>> standard_short("2026-2030", "vi")
    'chuẩn 2026–2030'
    """
    pair = STANDARD_SHORT.get(key)
    return (pair[0] if lang == "vi" else pair[1]) if pair else key


def decree_name(standard: Standard, lang: str) -> str:
    """The decree of a standard, in ``lang`` (``Nghị định 351/2025/NĐ-CP``).

    Examples
    --------
    >>> decree_name(get_standard("2026-2030"), "vi")
    'Nghị định 351/2025/NĐ-CP'
    """
    if check_lang(lang) == "vi":
        return standard.decree.replace("Decree", "Nghị định").replace("ND-CP", "NĐ-CP")
    return standard.decree


# --------------------------------------------------------------------------------------------
# Rebasing, projections and requirements
# --------------------------------------------------------------------------------------------


def rebase_headline(rebase: Rebase, lang: str = "vi") -> str:
    """One or two sentences on the level shift of a :class:`povanalysis.goals.rebase.Rebase`, for reports.

    Examples
    --------
    >>> import pandas as pd
    >>> from povanalysis.goals.rebase import Rebase
    >>> cells = pd.DataFrame({"commune_code": ["01"] * 3, "area": "rural", "minority": [True, True, False],
    ...                       "from_class": ["poor", "near_poor", "not_poor"],
    ...                       "to_class": ["poor", "poor", "not_poor"], "households": [10, 5, 85]})
    >>> rebase_headline(Rebase(2025, "2022-2025", "2026-2030", cells, min_cell=1), "en")
    'Reclassifying the 2025 review under the 2026–2030 standard (Decree 351/2025/ND-CP) raises the
    poor-household count from 10 (10.00%) to 15 (15.00%), +5.00 points. By group (points): Ethnic-minority
    households +33.33; Kinh households +0.00.'
    """
    vi = check_lang(lang) == "vi"
    std = get_standard(rebase.to_standard)
    p = rebase.table(()).iloc[0]
    a = f"{format_number(p['poor_from'], lang)} ({format_percent(p['rate_from'], lang)})"
    b = f"{format_number(p['poor_to'], lang)} ({format_percent(p['rate_to'], lang)})"
    pts = format_number(abs(100 * p["gap"]), lang, digits=2)
    up = p["gap"] >= 0
    if vi:
        decree = decree_name(std, "vi")
        verb, to = ("tăng", "lên") if up else ("giảm", "xuống")
        text = (
            f"Tính lại kết quả rà soát năm {rebase.year} theo {standard_short(std.key, 'vi')} ({decree}), "
            f"số hộ nghèo "
            f"{verb} từ {a} {to} {b}, {verb} {pts} điểm phần trăm."
        )
    else:
        text = (
            f"Reclassifying the {rebase.year} review under the {standard_short(std.key, 'en')} ({std.decree}) "
            f"{'raises' if up else 'lowers'} the poor-household count from {a} to {b}, "
            f"{'+' if up else '-'}{pts} points."
        )
    parts = []
    for d, keys in (("minority", (True, False)), ("old_area", ("bac_kan", "thai_nguyen"))):
        if d not in rebase.cells.columns:
            continue
        t = rebase.table(d).set_index(d)
        for k in keys:
            if k in t.index and not t.loc[k, "suppressed"]:
                name = label("minority" if k is True else "majority" if k is False else k, lang)
                parts.append(
                    f"{name} {'+' if t.loc[k, 'gap'] >= 0 else '-'}"
                    f"{format_number(abs(100 * t.loc[k, 'gap']), lang, digits=2)}"
                )
    if parts:
        text += (" Theo nhóm (điểm phần trăm): " if vi else " By group (points): ") + "; ".join(parts) + "."
    return text


def projection_basis(projection: Projection, lang: str = "vi") -> str:
    """Which standard a projection is on and how its series was brought to it, in words."""
    vi = check_lang(lang) == "vi"
    std = get_standard(projection.standard)
    years = sorted(projection.observed["review_year"].unique().tolist())
    span = f"{years[0]}–{years[-1]}" if years else ""
    decree = decree_name(std, lang)
    if projection.basis == "rebased_shift":
        return (
            f"Dự báo theo {standard_short(std.key, 'vi')} ({decree}): chuỗi tỷ lệ {span} được dịch theo chênh lệch "
            f"của từng đơn vị khi tính lại kỳ rà soát {years[-1]} theo chuẩn mới."
            if vi
            else f"Projection on the {standard_short(std.key, 'en')} ({decree}): the {span} series is shifted by each "
            f"unit's gap when the {years[-1]} review is reclassified under the new standard."
        )
    if projection.basis == "reclassified":
        return (
            f"Dự báo theo {standard_short(std.key, 'vi')} ({decree}): mọi kỳ rà soát {span} được phân loại lại "
            "theo chuẩn này."
            if vi
            else f"Projection on the {standard_short(std.key, 'en')} ({decree}): every review {span} is reclassified "
            "under it."
        )
    in_force = [y for y in projection.years if standard_in_force(int(y)) not in (None, std.key)]
    text = (
        f"Dự báo theo {standard_short(std.key, 'vi')} ({decree}), chuẩn của các kỳ rà soát {span}."
        if vi
        else f"Projection on the {standard_short(std.key, 'en')} ({decree}), the standard of the {span} reviews."
    )
    if in_force:
        text += (
            f" Các kỳ rà soát từ năm {in_force[0]} áp dụng chuẩn khác, nên đây là kịch bản giữ nguyên chuẩn cũ, "
            "không so sánh trực tiếp được với kết quả rà soát các năm đó."
            if vi
            else f" Reviews from {in_force[0]} use another standard, so this assumes the old standard stays and is "
            "not directly comparable with those reviews."
        )
    return text


def requirements_headline(requirements: pd.DataFrame, *, year: int | None = None, lang: str = "vi") -> str:
    """Sentences on how many communes are on track and what closing the gaps takes.

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"commune_code": ["01", "02"], "year": 2030, "target": ["t", "t"], "gap": [0.02, -0.01],
    ...                   "p_meet": [0.2, 0.9], "households": [500, 300], "additional_exits": [10.0, 0.0],
    ...                   "suppressed": False})
    >>> requirements_headline(r, lang="en")
    'By 2030, 1 of 2 communes with a target are projected to meet it (on track, central projection); 1
    commune(s) are behind and need 10 more households to leave poverty than projected.'
    """
    vi = check_lang(lang) == "vi"
    require_frame(requirements, "requirements", ["year", "target", "gap", "additional_exits", "suppressed"])
    year = int(requirements["year"].max()) if year is None else int(year)
    r = requirements[(requirements["year"] == year) & requirements["target"].notna() & ~requirements["suppressed"]]
    n, on = len(r), int((r["gap"] <= 1e-12).sum())
    behind = n - on
    extra = float(r["additional_exits"].sum())
    if vi:
        text = (
            f"Đến năm {year}, {on}/{n} xã, phường có mục tiêu được dự báo đạt lộ trình "
            f"(theo giá trị dự báo trung tâm); {behind} xã chậm so với lộ trình, cần thêm "
            f"{format_number(extra, lang)} hộ thoát nghèo so với dự báo."
        )
    else:
        text = (
            f"By {year}, {on} of {n} communes with a target are projected to meet it "
            f"(on track, central projection); {behind} commune(s) are behind and need "
            f"{format_number(extra, lang)} more households to leave poverty "
            "than projected."
        )
    if "credit_vnd" in r.columns and behind:
        bn = float(r["credit_vnd"].sum()) / 1e9
        text += (
            f" Với chi phí ước tính cho mỗi hộ thoát nghèo, cần khoảng {format_number(bn, lang, digits=1)} "
            f"tỷ đồng "
            "vốn tín dụng bổ sung (khoảng tin cậy theo từng xã trong bảng)."
            if vi
            else f" At the estimated cost per exit that is about VND {format_number(bn, lang, digits=1)} billion of "
            "additional credit (intervals by commune in the table)."
        )
    suppressed = int(((requirements["year"] == year) & requirements["suppressed"]).sum())
    if suppressed:
        text += (
            f" {suppressed} xã có dưới ngưỡng số hộ không được công bố."
            if vi
            else f" {suppressed} commune(s) below the household threshold are not published."
        )
    return text


def scenario_headline(baseline: Projection, scenario: Projection, *, year: int | None = None, lang: str = "vi") -> str:
    """A sentence on what a credit scenario changes in the pooled rate of all units.

    Examples
    --------
    >>> import pandas as pd
    >>> from povanalysis.goals.projections import trend_projection
    >>> from povanalysis.goals.requirements import credit_scenario
    >>> counts = pd.DataFrame({"commune_code": ["01"] * 5, "review_year": range(2021, 2026),
    ...                        "households": [500] * 5, "poor": [100, 90, 80, 72, 64]})
    >>> base = trend_projection(counts, n_sim=200, min_cell=1)
    >>> scenario_headline(base, credit_scenario(base, 20, 0.10, 0.0), lang="en")[:86]
    'With 20 additional loans a year from 2026 and an effect on exit of 0.100 (se 0.000), t'
    """
    vi = check_lang(lang) == "vi"
    for name, obj in (("baseline", baseline), ("scenario", scenario)):
        if not all(hasattr(obj, a) for a in ("aggregate", "years", "model")):
            raise TypeError(f"'{name}' should be a Projection, got {type(obj).__name__}")
    if not isinstance(scenario.model, pd.DataFrame) or "effect" not in scenario.model.columns:
        raise ValueError("'scenario' is not a credit scenario (see povanalysis.goals.requirements.credit_scenario)")
    years = scenario.years.tolist()
    year = years[-1] if year is None else int(year)
    if year not in years:
        raise ValueError(f"'year' {year} is not projected ({years})")
    j = years.index(year)
    a, b = baseline.aggregate(), scenario.aggregate()
    m = scenario.model
    loans = m.groupby("year")["loans"].sum()
    first = int(loans.index[loans > 0][0]) if (loans > 0).any() else years[0]
    per_year = format_number(float(loans[loans > 0].mean()) if (loans > 0).any() else 0.0, lang)
    eff, se = format_number(m["effect"].iloc[0], lang, digits=3), format_number(m["effect_se"].iloc[0], lang, digits=3)
    before, after = format_percent(a.mean[0, j], lang), format_percent(b.mean[0, j], lang)
    ci = f"{format_percent(b.ci_lower[0, j], lang)}–{format_percent(b.ci_upper[0, j], lang)}"
    exits = format_number(float(m.loc[m["year"] == year, "additional_exits"].sum()), lang)
    text = (
        f"Với thêm {per_year} khoản vay mỗi năm từ năm {first} và hiệu quả thoát nghèo ước tính {eff} "
        f"(sai số chuẩn "
        f"{se}), tỷ lệ hộ nghèo năm {year} dự báo là {after} (khoảng tin cậy {ci}) thay vì {before}: thêm {exits} "
        "hộ thoát nghèo."
        if vi
        else f"With {per_year} additional loans a year from {first} and an effect on exit of {eff} (se {se}), the "
        f"poor-household rate in {year} is projected at {after} ({ci}) instead of {before}: {exits} more "
        "households out of poverty."
    )
    if "credit_vnd" in m.columns:
        rows = m[m["year"] == year]
        bn = [float(rows[c].sum()) / 1e9 for c in ("credit_vnd", "credit_vnd_lower", "credit_vnd_upper")]
        lo, mid = format_number(bn[1], lang, digits=1), format_number(bn[0], lang, digits=1)
        if math.isfinite(bn[2]):
            hi = format_number(bn[2], lang, digits=1)
            span = f"từ {lo} đến {hi}" if vi else f"{lo} to {hi}"
        else:
            span = (
                f"từ {lo}, không có cận trên hữu hạn vì khoảng tin cậy của hiệu quả chạm 0"
                if vi
                else f"at least {lo}, with no finite upper bound as the effect's interval reaches zero"
            )
        text += (
            f" Theo chi phí ước tính cho mỗi hộ thoát nghèo, số hộ này ứng với khoảng {mid} tỷ đồng ({span})."
            if vi
            else f" At the estimated cost per exit these exits stand for about VND {mid} billion ({span})."
        )
    return text


def gap_labels(*, year: int, lang: str = "vi") -> dict[str, str]:
    """Title and value label of a gap figure (``title``, ``column_label``), e.g. for
    :func:`povanalysis.geo.maps.choropleth`.

    Examples
    --------
    >>> gap_labels(year=2030, lang="en")["column_label"]
    'Gap to the 2030 target (percentage points)'
    """
    return {"title": figure_text("gap_title", lang, y=year), "column_label": figure_text("gap", lang, y=year)}


# --------------------------------------------------------------------------------------------
# The outlook and its backtest
# --------------------------------------------------------------------------------------------


def model_name(model: str, lang: str = "vi") -> str:
    """A projection model's name in ``lang`` (:data:`MODEL_NAMES`).

    Examples
    --------
    >>> model_name("trend", "en")
    'logit-linear trend'
    """
    pair = MODEL_NAMES[model]
    return pair[0] if check_lang(lang) == "vi" else pair[1]


def backtest_text(outlook: Outlook, lang: str = "vi") -> str:
    """One sentence: which model, its errors on held-out reviews and how often its intervals covered them.

    Examples
    --------
    >>> from povanalysis.goals.outlook import Outlook
    >>> s = pd.DataFrame({"horizon": [1, 2], "folds": [2, 1], "mean_abs_error": [0.001, 0.002],
    ...                   "coverage": [1.0, 1.0]})
    >>> backtest_text(Outlook(None, "drift", "2026-2030", s, True, 0.10), "en")
    'Projections use the average yearly change (random walk with drift) model. Fitted on earlier reviews and
    checked against the later ones it had not seen, its province rate missed by 0.10 points on average one year
    ahead and 0.20 points on average two years ahead; its 90% prediction intervals held 3 of the 3 recorded
    rates.'
    """
    vi = check_lang(lang) == "vi"
    s = outlook.scores.sort_values("horizon")
    parts = []
    for r in s.itertuples(index=False):
        pts = format_number(100 * r.mean_abs_error, lang, digits=2)
        parts.append(
            f"{pts} điểm phần trăm khi dự báo trước {r.horizon} năm"
            if vi
            else f"{pts} points on average {_AHEAD.get(r.horizon, f'{r.horizon} years')} ahead"
        )
    folds = int(s["folds"].sum())
    held = int(round(float((s["coverage"] * s["folds"]).sum())))
    level = format_number(100 * (1 - outlook.alpha), lang, digits=0)
    if vi:
        text = (
            f"Dự báo dùng mô hình {model_name(outlook.model, 'vi')}. Khi ước lượng trên các kỳ rà soát trước và so "
            f"với các kỳ sau mà mô hình chưa thấy, sai số bình quân của tỷ lệ toàn tỉnh là "
            + "; ".join(parts)
            + f"; khoảng dự báo {level}% chứa {held}/{folds} tỷ lệ ghi nhận thực tế."
        )
        if not outlook.passes:
            text += " Mô hình chưa đạt yêu cầu kiểm định, nên các con số chỉ là kịch bản tham khảo."
    else:
        text = (
            f"Projections use the {model_name(outlook.model, 'en')} model. Fitted on earlier reviews and checked "
            f"against the later ones it had not seen, its province rate missed by "
            + " and ".join(parts)
            + f"; its {level}% prediction intervals held {held} of the {folds} recorded rates."
        )
        if not outlook.passes:
            text += " The model does not pass its backtest, so these figures are a scenario only."
    return text


def readable_scores(
    bt: Backtest, *, levels: Sequence[str] = ("province", "minority", "disadvantaged", "commune"), lang: str = "vi"
) -> pd.DataFrame:
    """The scores of a backtest as a table for reading: names in ``lang``, errors in points, shares in percent, as text.

    Indexed by standard, level, horizon and model (best interval score first), so that a
    notebook shows the groups as merged cells.
    """
    s = bt.scores()
    s = s[s["level"].isin(levels)].copy()
    s["level"] = pd.Categorical(s["level"], categories=list(levels), ordered=True)
    s = s.sort_values(["standard", "level", "horizon", "interval_score"])
    out = pd.DataFrame(
        {
            _name(SCORE_COLUMNS, "standard", lang): s["standard"].to_numpy(),
            _name(SCORE_COLUMNS, "level", lang): [_name(LEVEL_LABELS, str(v), lang) for v in s["level"]],
            _name(SCORE_COLUMNS, "horizon", lang): s["horizon"].to_numpy(),
            _name(SCORE_COLUMNS, "model", lang): [_name(MODEL_LABELS, v, lang) for v in s["model"]],
            _name(SCORE_COLUMNS, "folds", lang): s["folds"].to_numpy(),
        }
    )
    for c in ("mean_error", "mean_abs_error", "max_abs_error", "interval_score"):
        out[_name(SCORE_COLUMNS, c, lang)] = [format_number(100 * v, lang, digits=2) for v in s[c]]
    out[_name(SCORE_COLUMNS, "coverage", lang)] = [format_number(100 * v, lang, digits=0) + "%" for v in s["coverage"]]
    keys = [_name(SCORE_COLUMNS, c, lang) for c in ("standard", "level", "horizon", "model")]
    return out.set_index(keys)


def model_label(model: str, lang: str = "vi") -> str:
    """A projection model's short name in tables and legends (:data:`MODEL_LABELS`; the key when unknown)."""
    return _name(MODEL_LABELS, model, lang)


def level_label(level: str, lang: str = "vi") -> str:
    """A backtest level's name (:data:`LEVEL_LABELS`; the key when unknown)."""
    return _name(LEVEL_LABELS, level, lang)


def p_meet_text(
    table: pd.DataFrame,
    *,
    margin: float,
    lang: str = "vi",
    targets: Mapping[str, Target] | Sequence[Target] | None = None,
) -> str:
    """A sentence naming the targets whose probabilities of being met differ by more than ``margin`` between models.

    Parameters
    ----------
    table : DataFrame
        :func:`povanalysis.goals.outlook.p_meet_table`: ``target`` and one ``p_meet`` column per model.
    margin : float
        Disagreement worth a sentence (``outlook.DEFAULT_SETTINGS["disagreement"]``, 0.20:
        twenty points of probability).
    targets : mapping of name to Target, or sequence of Target, optional
        The targets of the table: each is named by its label in ``lang`` (:meth:`Target.label`)
        rather than its code; a target not given keeps its code.

    Returns
    -------
    str
        Empty when the models agree.

    Examples
    --------
    >>> t = pd.DataFrame({"target": ["p"], "drift": [0.9], "trend": [0.4]})
    >>> p_meet_text(t, margin=0.2, lang="en")
    'The models give very different probabilities of meeting — p: average yearly change (random walk with drift)
    90%, logit-linear trend 40%. The probability depends on the model; the reports use the model that passed its
    backtest.'
    >>> p_meet_text(t, margin=0.6, lang="en")
    ''
    """
    vi = check_lang(lang) == "vi"
    if targets is not None and not isinstance(targets, Mapping):
        targets = {t.name: t for t in targets}
    names = {n: t.label(lang) for n, t in (targets or {}).items()}
    table = table.set_index("target")
    spread = table.max(axis=1) - table.min(axis=1)
    apart = spread[spread > margin].index.tolist()
    if not apart:
        return ""
    lines = []
    for t in apart:
        vals = ", ".join(
            f"{MODEL_NAMES[m][0 if vi else 1] if m in MODEL_NAMES else escape_markdown(m)} "
            f"{format_percent(table.loc[t, m], lang, digits=0)}"
            for m in table.columns
            if np.isfinite(table.loc[t, m])
        )
        lines.append(f"«{escape_markdown(names[t])}»: {vals}" if t in names else f"{escape_markdown(t)}: {vals}")
    return (
        (
            "Các mô hình cho xác suất đạt mục tiêu rất khác nhau — "
            if vi
            else "The models give very different probabilities of meeting — "
        )
        + "; ".join(lines)
        + "."
        + (
            " Xác suất phụ thuộc vào mô hình; con số trong báo cáo theo mô hình đã qua kiểm định."
            if vi
            else " The probability depends on the model; the reports use the model that passed its backtest."
        )
    )


# --------------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------------


def target_rule(target: Target, lang: str = "vi") -> str:
    """A target's rule in words: ``−1.5 points a year`` (a true minus sign) or ``at most 10.00% by 2030``.

    Examples
    --------
    >>> from povanalysis.goals.targets import Target
    >>> target_rule(Target("p", annual_reduction=1.5), "en")
    '−1.5 points a year'
    >>> target_rule(Target("m", end_level=0.10), "vi")
    'không quá 10,00% vào năm 2030'
    """
    vi = check_lang(lang) == "vi"
    if target.end_level is not None:
        level = format_percent(target.end_level, lang)
        if target.direction == "decrease":
            return f"không quá {level} vào năm {target.end_year}" if vi else f"at most {level} by {target.end_year}"
        return f"ít nhất {level} vào năm {target.end_year}" if vi else f"at least {level} by {target.end_year}"
    sign = "−" if target.direction == "decrease" else "+"
    r = format_number(target.annual_reduction, lang, digits=1)
    if target.unit == "points":
        return f"{sign}{r} điểm phần trăm/năm" if vi else f"{sign}{r} points a year"
    return f"{sign}{r}%/năm (tương đối)" if vi else f"{sign}{r}% a year (relative)"


def target_table(targets: Target | Sequence[Target], *, lang: str = "vi") -> pd.DataFrame:
    """The targets as a table: ``name``, ``label``, ``population``, ``scope``, ``rule``, ``start_year``,
    ``end_year``, ``confirmed`` and ``source``.

    Examples
    --------
    >>> from povanalysis.goals.targets import DEFAULT_TARGETS
    >>> target_table(DEFAULT_TARGETS[:1], lang="en")[["name", "rule", "confirmed"]].to_dict("records")
    [{'name': 'province_low', 'rule': '−1.0 points a year', 'confirmed': False}]
    """
    check_lang(lang)
    targets = [targets] if hasattr(targets, "population") else list(targets)
    i = 0 if lang == "vi" else 1
    return pd.DataFrame(
        {
            "name": [t.name for t in targets],
            "label": [t.label(lang) for t in targets],
            "population": [POPULATION_TEXT[t.population][i] for t in targets],
            "scope": [t.scope for t in targets],
            "rule": [target_rule(t, lang) for t in targets],
            "start_year": [t.start_year for t in targets],
            "end_year": [t.end_year for t in targets],
            "confirmed": [t.confirmed for t in targets],
            "source": [t.source for t in targets],
        }
    )


def _commune_names() -> dict:
    from ...data import registry

    units = registry.units()
    return dict(zip(units["commune_code"], units["name"]))


def _who(target: Target, code: str | None, lang: str, names: dict) -> str:
    if isinstance(code, str):
        name = names.get(code)
        return f"{name} ({code})" if name else (f"xã {code}" if lang == "vi" else f"commune {code}")
    vi, en = POPULATION_TEXT[target.population]
    return f"«{target.label('vi')}» ({vi})" if lang == "vi" else f"'{target.label('en')}' ({en})"


def _conflict_message(
    kind: str,
    t: Target,
    other: Target | None,
    code: str | None,
    year: int,
    value: float,
    reference: float,
    targets: Sequence[Target],
    lang: str,
    names: dict,
) -> str:
    vi = lang == "vi"
    if kind == "empty_population":
        return (
            f"Mục tiêu «{t.label('vi')}»: không có hộ nào thuộc đối tượng trong kỳ rà soát {t.start_year}."
            if vi
            else f"Target '{t.label('en')}': no household of its population at the {t.start_year} review."
        )
    if kind == "unattainable":
        who = _who(t, code, lang, names)
        start = format_percent(value, lang)
        red = format_number(t.annual_reduction, lang, digits=1)
        bound = format_percent(reference, lang)
        if vi:
            step = f"giảm {red} điểm phần trăm mỗi năm" if t.unit == "points" else f"giảm {red}% mỗi năm"
            if t.direction == "increase":
                step = step.replace("giảm", "tăng")
            return (
                f"{who}: từ {start} năm {t.start_year}, {step} sẽ vượt mức giới hạn {bound} vào năm {year}; "
                f"mục tiêu không thể đạt như đã viết (lộ trình được giữ ở mức {bound} từ năm {year})."
            )
        step = f"a fall of {red} points a year" if t.unit == "points" else f"a fall of {red}% a year"
        if t.direction == "increase":
            step = step.replace("fall", "rise")
        return (
            f"{who}: from {start} in {t.start_year}, {step} would pass the bound of {bound} in {year}; "
            f"the target is unattainable as written (the path is held at {bound} from {year})."
        )
    if kind == "insufficient":
        a, b = t, other
        who = _who(a, code, lang, names)
        la, lb = format_percent(value, lang), format_percent(reference, lang)
        return (
            f"{who}: đạt mục tiêu «{a.label('vi')}» thì năm {b.end_year} vẫn còn {la}, chưa đạt mức {lb} "
            f"mà mục tiêu «{b.label('vi')}» yêu cầu; hai mục tiêu không khớp nhau và «{b.label('vi')}» là "
            "ràng buộc chặt hơn."
            if vi
            else f"{who}: meeting '{a.label('en')}' leaves the rate at {la} in {b.end_year}, short of the {lb} that "
            f"'{b.label('en')}' requires; the two targets disagree and '{b.label('en')}' binds."
        )
    if kind == "implied_range":
        hi_t = other
        # The low end of the province-wide range whose high end the conflict names.
        lo_t = min(
            (
                x
                for x in targets
                if (x.population, x.scope, x.unit, x.direction)
                == (hi_t.population, hi_t.scope, hi_t.unit, hi_t.direction)
                and x.annual_reduction is not None
            ),
            key=lambda x: x.annual_reduction,
        )
        share = format_percent(reference, lang, digits=1)
        x, hi = format_number(value, lang, digits=2), format_number(hi_t.annual_reduction, lang, digits=1)
        return (
            f"Đạt mục tiêu «{t.label('vi')}» (nhóm chiếm {share} số hộ) tự nó đã làm tỷ lệ hộ nghèo toàn tỉnh "
            f"giảm ít nhất {x} điểm phần trăm mỗi năm, vượt cận trên {hi} điểm của khoảng «{lo_t.label('vi')}» – "
            f"«{hi_t.label('vi')}»; khoảng này chỉ nhất quán nếu hiểu là mức giảm tối thiểu."
            if vi
            else f"Meeting '{t.label('en')}' (its population holds {share} of households) alone lowers the province "
            f"rate by at least {x} points a year, above the upper end of {hi} points of the range "
            f"'{lo_t.label('en')}' – '{hi_t.label('en')}'; the range is consistent only if read as a minimum."
        )
    raise ValueError(f"'conflicts' has an unknown kind {kind!r}")


def conflict_messages(conflicts: pd.DataFrame, targets: Sequence[Target], *, lang: str = "en") -> pd.DataFrame:
    """The conflicts of :func:`povanalysis.goals.targets.check_consistency` with a ``message`` column in ``lang``.

    Examples
    --------
    >>> from povanalysis.goals.targets import Target, check_consistency
    >>> b = pd.DataFrame({"target": ["d"], "kind": ["group"], "commune_code": [None],
    ...                   "households": [100], "start_level": [0.02]})
    >>> t = [Target("d", annual_reduction=3)]
    >>> conflict_messages(check_consistency(t, b), t)["message"].iloc[0]
    "'d' (the province): from 2.00% in 2025, a fall of 3.0 points a year would pass the bound of 0.00% in 2026;
    the target is unattainable as written (the path is held at 0.00% from 2026)."
    """
    check_lang(lang)
    require_frame(conflicts, "conflicts", ["kind", "target", "other", "commune_code", "year", "value", "reference"])
    by_name = {t.name: t for t in ([targets] if hasattr(targets, "population") else targets)}
    names = _commune_names() if conflicts["commune_code"].notna().any() else {}
    messages = [
        _conflict_message(
            r.kind,
            by_name[r.target],
            by_name.get(r.other),
            r.commune_code if isinstance(r.commune_code, str) else None,
            int(r.year),
            r.value,
            r.reference,
            list(by_name.values()),
            lang,
            names,
        )
        for r in conflicts.itertuples(index=False)
    ]
    return conflicts.assign(message=pd.Series(messages, index=conflicts.index, dtype=object))
