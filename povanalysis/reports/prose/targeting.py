"""The words of the targeting part: sentences and tables on eligibility, accuracy, priorities, risk, allocation.

Every Vietnamese and English word that describes a targeting result lives here (the figures of
:mod:`povanalysis.figures.targeting` take their labels from :data:`TERMS`); the models of
:mod:`povanalysis.targeting` return results objects and hold no prose.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType

import numpy as np
import pandas as pd

from ... import config
from ...common.checks import require_frame
from ...common.labels import check_lang, format_number, format_percent, pick
from ...common.safe import escape_markdown
from ...targeting.allocation import Allocation, LoanEffect
from ...targeting.beneficiaries import RankSensitivity
from ...targeting.panel import positive_int
from ...targeting.risk import FallbackModel
from ..disclosure import rate_band

__all__ = [
    "TERMS",
    "term",
    "decimal",
    "commune_names",
    "accuracy_text",
    "priority_text",
    "evaluation_text",
    "discrimination_table",
    "calibration_table",
    "loan_effect_text",
    "comparison_text",
]

_ALL = "all"

#: The targeting part's words, key → (Vietnamese, English): eligibility and accuracy, the priority
#: ranking, the risk model and its evaluation, the allocation of the credit budget.
TERMS = MappingProxyType(
    {
        "coverage": ("Tỷ lệ hộ đủ điều kiện được vay", "Coverage of eligible households"),
        "exclusion_rate": ("Tỷ lệ hộ đủ điều kiện chưa được vay", "Exclusion rate (eligible, not reached)"),
        "inclusion_share": ("Tỷ lệ khoản vay cho hộ không đủ điều kiện", "Share of loans to ineligible households"),
        "eligible": ("Hộ đủ điều kiện", "Eligible households"),
        "reached": ("Hộ đủ điều kiện đã được vay", "Eligible households reached"),
        "all": ("Mọi chương trình", "All programmes"),
        "prog_poor": ("Cho vay hộ nghèo", "Loans to poor households"),
        "prog_near_poor": ("Cho vay hộ cận nghèo", "Loans to near-poor households"),
        "prog_newly_escaped": ("Cho vay hộ mới thoát nghèo", "Loans to newly escaped households"),
        "rank": ("Thứ hạng ưu tiên", "Priority rank"),
        "priority_title": ("Xếp hạng ưu tiên xã, phường", "Commune priority ranking"),
        "band": ("Khoảng thứ hạng khi thay đổi trọng số (5%–95%)", "Rank range under weight changes (5%–95%)"),
        "base_rank": ("Thứ hạng với trọng số mặc định", "Rank with the default weights"),
        "loans_year": ("khoản vay năm", "loans disbursed in"),
        "cal_title": (
            "Hiệu chỉnh mô hình nguy cơ tái nghèo (kiểm định ngoài thời gian)",
            "Calibration of the fall-back risk model (out-of-time test)",
        ),
        "predicted": ("Xác suất dự báo", "Predicted probability"),
        "observed": ("Tỷ lệ tái nghèo thực tế", "Observed fall-back rate"),
        "bins": ("Nhóm theo xác suất dự báo", "Bins of predicted probability"),
        "perfect": ("Hiệu chỉnh hoàn hảo", "Perfect calibration"),
        "auc_model": ("AUC mô hình", "model AUC"),
        "auc_baseline": ("AUC điểm đơn giản tốt nhất", "AUC of the best simple score"),
        "logit": ("Mô hình logit", "Logit model"),
        "income_ratio": (
            "Khoảng cách tới chuẩn nghèo (thu nhập ÷ chuẩn)",
            "Distance to the income line (income ÷ line)",
        ),
        "years_since_exit": ("Số năm kể từ khi ra khỏi danh sách", "Years since leaving the lists"),
        "was_near_poor": (
            "Là hộ cận nghèo (không phải hộ nghèo) khi còn trong danh sách",
            "Near-poor rather than poor when last listed",
        ),
        "rule_of_thumb": (
            "Quy tắc “thu nhập không quá {margin}% chuẩn nghèo”",
            "Rule 'income at most {margin}% of the line'",
        ),
        "col_score": ("Điểm dự báo", "Score"),
        "col_role": ("Vai trò", "Role"),
        "col_auc": ("AUC (KTC 95%)", "AUC (95% CI)"),
        "col_diff": ("Chênh lệch AUC mô hình − điểm (KTC 95%)", "Model AUC − score AUC (95% CI)"),
        "role_model": ("mô hình", "model"),
        "role_baseline": ("đối chứng (điểm đơn giản tốt nhất)", "baseline (best simple score)"),
        "role_simple": ("điểm đơn giản", "simple score"),
        "role_rule": ("tham khảo, không dùng để so sánh chính", "reference only, not the comparison"),
        "col_measure": ("Chỉ số", "Measure"),
        "col_estimate": ("Ước lượng", "Estimate"),
        "col_ci": ("KTC 95%", "95% CI"),
        "col_ideal": ("Giá trị lý tưởng", "Ideal value"),
        "col_verdict": ("Kết luận", "Verdict"),
        "observed_rate": ("Tỷ lệ tái nghèo quan sát", "Observed fall-back rate"),
        "mean_predicted": ("Xác suất dự báo trung bình", "Mean predicted probability"),
        "cal_intercept": ("Hiệu chỉnh tổng thể (hệ số chặn)", "Calibration-in-the-large (intercept)"),
        "cal_slope": ("Độ dốc hiệu chỉnh", "Calibration slope"),
        "covers": ("khoảng tin cậy chứa giá trị lý tưởng", "interval covers the ideal value"),
        "excludes": ("khoảng tin cậy không chứa giá trị lý tưởng", "interval excludes the ideal value"),
        "to": ("đến", "to"),
        "optimised": ("Phân bổ tối ưu", "Optimised allocation"),
        "proportional": ("Phân bổ theo số hộ nghèo", "In proportion to the number of poor"),
        "amount_bn": ("Vốn phân bổ (tỷ đồng)", "Credit allocated (billion VND)"),
        "allocation_title": (
            "Phân bổ vốn tín dụng chính sách theo xã, phường",
            "Allocation of the credit budget by commune",
        ),
        "exits": ("số hộ thoát nghèo kỳ vọng", "expected exits"),
        "source_estimate": (
            "ước lượng từ dữ liệu vay vốn và rà soát",
            "estimated from the loan and review data",
        ),
        "source_truth": ("giá trị cài đặt của bộ sinh dữ liệu mô phỏng", "the synthetic generator's planted value"),
        "source_default": ("giả định mặc định (chưa ước lượng)", "a default assumption (not estimated)"),
    }
)


def term(key: str, lang: str) -> str:
    """The ``lang`` word of ``key`` in :data:`TERMS`.

    Examples
    --------
    >>> term("coverage", "en")
    'Coverage of eligible households'
    """
    return pick(TERMS, key, lang)


def decimal(value: float, lang: str, *, digits: int = 3, sign: bool = False) -> str:
    """A number with the decimal comma in Vietnamese and a true minus sign (``–`` for NaN).

    Examples
    --------
    >>> decimal(-0.1234, "vi"), decimal(0.05, "en", sign=True)
    ('−0,123', '+0.050')
    """
    if value != value:
        return "–"
    text = f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"
    text = text.replace("-", "−")
    return text.replace(".", ",") if lang == "vi" else text


def commune_names(codes: Sequence[str]) -> list[str]:
    """The name of each commune code (the code itself when the registry does not know it).

    Examples
    --------
    >>> commune_names(["01843", "99999"])
    ['Phường Bắc Kạn', '99999']
    """
    from ...data import registry

    names = registry.units().set_index("commune_code")["name"]
    return [str(names.get(c, c)) for c in codes]


def _pct(value: float, lang: str, digits: int = 1) -> str:
    return format_percent(value, lang, digits=digits)


def _num(value: float, lang: str) -> str:
    return format_number(value, lang)


def _band_pct(u: float, lang: str) -> str:
    """A band bound as a percent with the digits it needs (0.002 → "0,2%", 0.05 → "5%")."""
    digits = max(0, int(np.ceil(-np.log10(u * 100) - 1e-9)))
    return _pct(u, lang, digits)


def _pair(count: int, denominator: int, rate: float | None, limit: int, lang: str) -> tuple[str, str]:
    """A count and its rate as a sentence may show them: under the limit, "dưới 10" and a band or nothing."""
    if 0 < count < limit:
        band = rate_band(denominator, limit)
        few = f"dưới {limit}" if lang == "vi" else f"fewer than {limit}"
        if rate is None or band != band:
            return few, ""
        return few, ("dưới " if lang == "vi" else "under ") + _band_pct(band, lang)
    return _num(count, lang), ("" if rate is None else _pct(rate, lang))


def _complement(denominator: int, limit: int, lang: str) -> tuple[str, str]:
    """The count whose complement in ``denominator`` is under the limit: "trên n − limit" and "trên 1 − band"."""
    more = "trên " if lang == "vi" else "more than "
    band = rate_band(denominator, limit)
    rate = "" if band != band else more + _band_pct(1 - band, lang)
    return more + _num(denominator - limit, lang), rate


def _group_coverage(row: pd.Series, limit: int, lang: str) -> str:
    """A group's coverage, banded when the households reached or not reached are under the limit ("" if no band)."""
    if "reached" not in row or "eligible" not in row:
        return _pct(row["coverage"], lang)
    reached, eligible = int(row["reached"]), int(row["eligible"])
    if 0 < eligible - reached < limit:
        return _complement(eligible, limit, lang)[1]
    return _pair(reached, eligible, row["coverage"], limit, lang)[1]


def _paren(prefix: str, rate: str) -> str:
    return f" ({prefix}{rate})" if rate else ""


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


# ----------------------------------------------------------------------------- eligibility and priorities


def accuracy_text(
    province: pd.DataFrame,
    minority: pd.DataFrame | None = None,
    *,
    year: int,
    lang: str = "vi",
    min_cell: int | None = None,
) -> str:
    """Two sentences on the coverage, exclusion and inclusion errors of one loan year.

    The disclosure rule of the pages holds in the sentences: a count under ``min_cell``
    (:data:`povanalysis.config.MIN_CELL` by default) reads "dưới 10", its rate the band of
    :func:`povanalysis.reports.disclosure.rate_band` ("dưới 5%") or nothing, and the count that
    would give it back as a difference reads "trên ..." with its rate banded the same way.

    Parameters
    ----------
    province : DataFrame
        :func:`accuracy` with ``by=()`` (province totals).
    minority : DataFrame, optional
        :func:`accuracy` with ``by=("minority",)``; adds the coverage of ethnic-minority
        and Kinh households.
    year : int
        Loan year.
    lang : {"vi", "en"}
    min_cell : int, optional
        The disclosure limit.

    Examples
    --------
    >>> t = pd.DataFrame({"loan_year": [2025], "programme": ["all"], "eligible": [200], "reached": [50],
    ...                   "coverage": [0.25], "exclusion_errors": [150], "loans": [60], "inclusion_errors": [10],
    ...                   "inclusion_share": [1 / 6], "suppressed": [False]})
    >>> accuracy_text(t, year=2025, lang="en")
    'Of the 200 households eligible at the 2024 review, 50 got a loan in 2025 (coverage 25.0%); 150 eligible households were not reached. 10 of the 60 loans (16.7%) went to households that were not eligible.'
    """
    check_lang(lang)
    require_frame(
        province,
        "province",
        [
            "loan_year",
            "programme",
            "eligible",
            "reached",
            "coverage",
            "exclusion_errors",
            "loans",
            "inclusion_errors",
            "inclusion_share",
            "suppressed",
        ],
    )
    rows = province[(province["loan_year"] == year) & (province["programme"] == _ALL)]
    if len(rows) != 1:
        raise ValueError(
            f"'province' must hold one 'all' row for loan year {year} (pass by=() to accuracy), got {len(rows)}"
        )
    r = rows.iloc[0]
    if r["suppressed"]:
        return (
            "Số liệu năm {y} không công bố (dưới ngưỡng số hộ)."
            if lang == "vi"
            else "The figures for {y} are suppressed (too few households)."
        ).format(y=year)
    limit = config.MIN_CELL if min_cell is None else int(min_cell)
    eligible, loans = int(r["eligible"]), int(r["loans"])
    reached = _pair(int(r["reached"]), eligible, r["coverage"], limit, lang)
    excluded = _pair(int(r["exclusion_errors"]), eligible, None, limit, lang)
    if "dưới" in excluded[0] or "fewer" in excluded[0]:  # reached = eligible − excluded gives the count back
        reached = _complement(eligible, limit, lang)
    if reached[0].startswith(("dưới", "fewer")):
        excluded = _complement(eligible, limit, lang)
    included = _pair(int(r["inclusion_errors"]), loans, r["inclusion_share"], limit, lang)
    if loans - int(r["inclusion_errors"]) and loans - int(r["inclusion_errors"]) < limit:
        included = _complement(loans, limit, lang)
    n_loans = _pair(loans, loans, None, limit, lang)[0]
    if lang == "vi":
        text = (
            f"Trong {_num(eligible, lang)} hộ đủ điều kiện theo kết quả rà soát năm {year - 1}, "
            f"{reached[0]} hộ được vay vốn trong năm {year}{_paren('độ bao phủ ', reached[1])}; "
            f"{excluded[0]} hộ đủ điều kiện chưa được vay. "
            f"{_cap(included[0])} trong {n_loans} khoản vay{_paren('', included[1])} đến hộ không đủ điều kiện."
        )
    else:
        text = (
            f"Of the {_num(eligible, lang)} households eligible at the {year - 1} review, "
            f"{reached[0]} got a loan in {year}{_paren('coverage ', reached[1])}; "
            f"{excluded[0]} eligible households were not reached. "
            f"{_cap(included[0])} of the {n_loans} loans{_paren('', included[1])} went to households that were "
            "not eligible."
        )
    if minority is not None:
        require_frame(minority, "minority", ["loan_year", "programme", "minority", "coverage", "suppressed"])
        m = minority[(minority["loan_year"] == year) & (minority["programme"] == _ALL)].set_index("minority")
        if set(m.index) == {True, False} and not m["suppressed"].any():
            a, b = (_group_coverage(m.loc[g], limit, lang) for g in (True, False))
            text += (
                ""
                if not (a and b)
                else (
                    f" Độ bao phủ ở hộ dân tộc thiểu số là {a}, ở hộ dân tộc Kinh là {b}."
                    if lang == "vi"
                    else f" Coverage was {a} among ethnic-minority households and {b} among Kinh households."
                )
            )
    return text


def priority_text(
    index: pd.DataFrame, sensitivity: RankSensitivity | None = None, *, n: int = 5, lang: str = "vi"
) -> str:
    """The communes at the top of the priority ranking, and how stable the ranking is.

    Examples
    --------
    >>> t = pd.DataFrame({"commune_code": ["01840", "01843"], "poor_rate": [0.1, 0.3]})
    >>> from povanalysis.targeting.beneficiaries import priority_index
    >>> priority_text(priority_index(t, weights={"poor_rate": 1}), n=1, lang="en")
    'Highest priority: Phường Bắc Kạn.'
    """
    check_lang(lang)
    require_frame(index, "index", ["commune_code", "rank"])
    n = positive_int(n, "n")
    head = index[index["rank"].notna()].sort_values(["rank", "commune_code"], kind="stable").head(n)
    names = ", ".join(escape_markdown(n) for n in commune_names(head["commune_code"]))
    text = f"Ưu tiên cao nhất: {names}." if lang == "vi" else f"Highest priority: {names}."
    if sensitivity is not None:
        q = np.quantile(sensitivity.spearman, [0.05, 0.5])
        top = sensitivity.top
        stay = int((sensitivity.ranks.loc[sensitivity.ranks["rank"] <= top, "share_top"] >= 0.9).sum())
        inside = int((sensitivity.ranks["rank"] <= top).sum())
        med, low = (f"{v:.3f}".replace(".", ",") if lang == "vi" else f"{v:.3f}" for v in (q[1], q[0]))
        if lang == "vi":
            text += (
                f" Khi thay đổi ngẫu nhiên trọng số ({_num(sensitivity.n_draws, lang)} lần), hệ số tương quan "
                f"Spearman với thứ hạng gốc có trung vị {med} (phân vị 5%: {low}); {stay} trong {inside} xã "
                f"thuộc nhóm {top} đầu vẫn ở nhóm này trong ít nhất 90% số lần."
            )
        else:
            text += (
                f" Under {_num(sensitivity.n_draws, lang)} random weightings the Spearman correlation with the "
                f"default ranking has median {med} (5th percentile {low}); {stay} of the {inside} communes in "
                f"the top {top} stay there in at least 90% of them."
            )
    return text


# ----------------------------------------------------------------------------- the risk of falling back


def _ci(pair: tuple, lang: str, *, digits: int = 3) -> str:
    return f"{decimal(pair[0], lang, digits=digits)} {term('to', lang)} {decimal(pair[1], lang, digits=digits)}"


def _score_name(model: FallbackModel, score: str, lang: str) -> str:
    if score == "rule_of_thumb":
        margin = format_number(100 * (1 + model.rule_margin), lang)
        return term("rule_of_thumb", lang).format(margin=margin)
    return term(score, lang)


def _check_model(model: object) -> None:
    if not isinstance(model, FallbackModel):
        raise TypeError(f"'model' should be a FallbackModel, got {type(model).__name__}")


def _verdict(ci: tuple, ideal: float) -> int:
    """-1 when the interval lies below the ideal value, +1 above it, 0 when it covers it."""
    return -1 if ci[1] < ideal else 1 if ci[0] > ideal else 0


_CALIBRATION_WORDS = MappingProxyType(
    {
        ("intercept", 1): ("dự báo thấp hơn thực tế về mức trung bình", "the predicted risks are too low on average"),
        ("intercept", -1): ("dự báo cao hơn thực tế về mức trung bình", "the predicted risks are too high on average"),
        ("intercept", 0): (
            "mức nguy cơ trung bình phù hợp trong phạm vi sai số",
            "the average risk is right within its uncertainty",
        ),
        ("slope", 1): (
            "dự báo quá dè dặt: nguy cơ thực tế phân tán rộng hơn",
            "the predictions are too moderate: the observed risks spread further",
        ),
        ("slope", -1): (
            "dự báo quá cực đoan: nguy cơ thực tế phân tán hẹp hơn",
            "the predictions are too extreme: the observed risks spread less",
        ),
        ("slope", 0): (
            "độ phân tán của dự báo phù hợp trong phạm vi sai số",
            "the spread of the predictions is right within its uncertainty",
        ),
    }
)


def evaluation_text(model: FallbackModel, *, lang: str = "vi") -> str:
    """The out-of-time evaluation in a paragraph: AUC against the best simple score, calibration, top decile.

    Parameters
    ----------
    model : FallbackModel
    lang : {"vi", "en"}

    Returns
    -------
    str

    Examples
    --------
    >>> from povanalysis.data import pipeline, synth
    >>> from povanalysis.targeting.risk import fit_fallback_model
    >>> panel = synth.generate(seed=5, scale=0.005)
    >>> model = fit_fallback_model(pipeline.classify_panel(panel.households), panel.loans)
    >>> evaluation_text(model, lang="en").startswith("Fitted on households that left the lists")
    True
    """
    check_lang(lang)
    _check_model(model)
    b, r = model.baseline, model.rule
    i = 0 if lang == "vi" else 1
    train = ", ".join(map(str, model.train_years))
    n = format_number(model.n_test, lang)
    communes = format_number(model.n_clusters, lang)
    rate = format_percent(model.base_rate, lang, digits=1)
    prec = format_percent(model.precision_at_top_decile, lang, digits=1)
    name = _score_name(model, b.score, lang)
    rule = _score_name(model, "rule_of_thumb", lang)
    v = {k: decimal(getattr(model, k), lang) for k in ("auc", "calibration_slope")}
    v["diff"] = decimal(model.auc_difference, lang, sign=True)
    v["cil"] = decimal(model.calibration_intercept, lang)
    words_i = _CALIBRATION_WORDS[("intercept", _verdict(model.calibration_intercept_ci, 0.0))][i]
    words_s = _CALIBRATION_WORDS[("slope", _verdict(model.calibration_slope_ci, 1.0))][i]
    if lang == "vi":
        return (
            f"Mô hình được ước lượng trên các hộ thoát nghèo và chuyển dịch đến kỳ rà soát {train}, rồi kiểm định "
            f"trên kỳ {model.test_year} ({n} hộ tại {communes} xã, phường; {rate} tái nghèo hoặc tái cận nghèo): "
            f"AUC {v['auc']} (KTC 95%: {_ci(model.auc_ci, lang)}). Điểm đơn giản tốt nhất — "
            f"{name[0].lower() + name[1:]} — đạt AUC {decimal(b.auc, lang)} (KTC 95%: {_ci(b.auc_ci, lang)}); "
            f"chênh lệch AUC giữa mô hình và điểm này: {v['diff']} (KTC 95%: {_ci(model.auc_difference_ci, lang)}). "
            f"{rule}, tức khoảng cách tới chuẩn nghèo bị chia thành hai nhóm, đạt AUC {decimal(r.auc, lang)}. "
            f"Hiệu chỉnh ngoài thời gian: hệ số chặn {v['cil']} (KTC 95%: "
            f"{_ci(model.calibration_intercept_ci, lang)}; lý tưởng là 0) — {words_i}; "
            f"độ dốc {v['calibration_slope']} (KTC 95%: {_ci(model.calibration_slope_ci, lang)}; lý tưởng là 1) — {words_s}. Các khoảng tin cậy "
            f"tính đến việc các hộ cùng xã, phường không độc lập với nhau. Trong 10% hộ có nguy cơ cao nhất theo "
            f"mô hình, {prec} đã tái nghèo."
        )
    return (
        f"Fitted on households that left the lists, with outcomes at the {train} reviews, and tested on the "
        f"{model.test_year} review ({n} households in {communes} communes, {rate} fell back): AUC {v['auc']} "
        f"(95% CI {_ci(model.auc_ci, lang)}). The best simple score, the {name[0].lower() + name[1:]}, reaches "
        f"{decimal(b.auc, lang)} (95% CI {_ci(b.auc_ci, lang)}); AUC difference, model minus this score: {v['diff']} "
        f"(95% CI {_ci(model.auc_difference_ci, lang)}). The {rule[0].lower() + rule[1:]}, a two-way cut of "
        f"that distance, reaches an AUC of {decimal(r.auc, lang)}. Calibration out of time: "
        f"calibration-in-the-large {v['cil']} (95% CI {_ci(model.calibration_intercept_ci, lang)}; 0 is ideal), "
        f"{words_i}; calibration slope {v['calibration_slope']} (95% CI {_ci(model.calibration_slope_ci, lang)}; "
        f"1 is ideal), {words_s}. The intervals allow for households clustered in communes. Of the 10% the "
        f"model rates riskiest, {prec} fell back."
    )


def discrimination_table(model: FallbackModel, *, lang: str = "vi") -> pd.DataFrame:
    """The model and each simple score: out-of-time AUC and the model's gain over it, formatted for reading.

    Parameters
    ----------
    model : FallbackModel
    lang : {"vi", "en"}

    Returns
    -------
    DataFrame
        One row for the model, then the baseline, the other simple scores and the rule of
        thumb; columns score, role, AUC (95% CI), model AUC − score AUC (95% CI), as text.

    Examples
    --------
    See :func:`calibration_table`.
    """
    check_lang(lang)
    _check_model(model)
    order = [model.baseline] + [b for b in model.baselines if b is not model.baseline and b is not model.rule]
    rows = [
        (term("logit", lang), term("role_model", lang), f"{decimal(model.auc, lang)} ({_ci(model.auc_ci, lang)})", "–")
    ]
    for b in [*order, model.rule]:
        role = "role_baseline" if b is model.baseline else "role_rule" if b is model.rule else "role_simple"
        rows.append(
            (
                _score_name(model, b.score, lang),
                term(role, lang),
                f"{decimal(b.auc, lang)} ({_ci(b.auc_ci, lang)})",
                f"{decimal(b.difference, lang, sign=True)} ({_ci(b.difference_ci, lang)})",
            )
        )
    return pd.DataFrame(rows, columns=[term(k, lang) for k in ("col_score", "col_role", "col_auc", "col_diff")])


def calibration_table(model: FallbackModel, *, lang: str = "vi") -> pd.DataFrame:
    """Out-of-time calibration formatted for reading: observed and predicted rates, intercept and slope.

    Parameters
    ----------
    model : FallbackModel
    lang : {"vi", "en"}

    Returns
    -------
    DataFrame
        Rows: observed fall-back rate, mean predicted probability, calibration-in-the-large,
        calibration slope; columns measure, estimate, 95% CI, ideal value, verdict, as text.

    Examples
    --------
    >>> from povanalysis.data import pipeline, synth
    >>> from povanalysis.targeting.risk import fit_fallback_model
    >>> panel = synth.generate(seed=5, scale=0.005)
    >>> model = fit_fallback_model(pipeline.classify_panel(panel.households), panel.loans)
    >>> list(calibration_table(model, lang="en").columns)
    ['Measure', 'Estimate', '95% CI', 'Ideal value', 'Verdict']
    >>> discrimination_table(model, lang="en").iloc[1]["Role"]
    'baseline (best simple score)'
    """
    check_lang(lang)
    _check_model(model)
    rows = [
        (term("observed_rate", lang), format_percent(model.base_rate, lang, digits=1), "", "", ""),
        (term("mean_predicted", lang), format_percent(model.mean_predicted, lang, digits=1), "", "", ""),
    ]
    for key, value, ci, ideal in (
        ("cal_intercept", model.calibration_intercept, model.calibration_intercept_ci, 0.0),
        ("cal_slope", model.calibration_slope, model.calibration_slope_ci, 1.0),
    ):
        verdict = "covers" if _verdict(ci, ideal) == 0 else "excludes"
        rows.append(
            (term(key, lang), decimal(value, lang), _ci(ci, lang), decimal(ideal, lang, digits=0), term(verdict, lang))
        )
    return pd.DataFrame(
        rows, columns=[term(k, lang) for k in ("col_measure", "col_estimate", "col_ci", "col_ideal", "col_verdict")]
    )


# ----------------------------------------------------------------------------- allocation


def loan_effect_text(effect: LoanEffect, *, lang: str = "vi") -> str:
    """One sentence saying what the effect per loan is and where it comes from.

    Examples
    --------
    >>> from povanalysis.targeting.allocation import DEFAULT_EFFECT
    >>> loan_effect_text(DEFAULT_EFFECT, lang="en")
    'Effect of one loan on leaving poverty by the next review: 5.0 percentage points (standard error 2.5), a default assumption (not estimated).'
    """
    if not isinstance(effect, LoanEffect):
        raise TypeError(f"'effect' should be a LoanEffect, got {type(effect).__name__}")
    src = term(f"source_{effect.source}", lang)
    value = format_number(100 * effect.effect, lang, digits=1)
    se = format_number(100 * effect.se, lang, digits=1)
    if lang == "vi":
        return (
            f"Tác động của một khoản vay lên khả năng thoát nghèo ở kỳ rà soát sau: {value} điểm phần trăm "
            f"(sai số chuẩn {se}), {src}."
        )
    return (
        f"Effect of one loan on leaving poverty by the next review: {value} percentage points "
        f"(standard error {se}), {src}."
    )


def comparison_text(optimised: Allocation, proportional: Allocation, *, lang: str = "vi") -> str:
    """The two allocations compared in two sentences (budget, loans, expected exits with intervals).

    Examples
    --------
    >>> c = pd.DataFrame({"commune_code": ["a", "b"], "eligible": [4, 4], "poor": [1, 3],
    ...                   "disadvantaged": [False, True], "effect": [0.2, 0.1]})
    >>> kw = dict(budget=2e8, effect="effect", effect_se=0.0, loan_size=5e7, min_share_disadvantaged=0.0)
    >>> from povanalysis.targeting.allocation import allocate_budget, proportional_allocation
    >>> comparison_text(allocate_budget(c, **kw), proportional_allocation(c, **kw), lang="en")
    'With a budget of 0.2 billion VND, the optimised allocation funds 4 loans and is expected to lift 0.8 households (95% CI 0.8–0.8) out of poverty by the next review, against 0.5 (0.5–0.5) for allocation in proportion to the number of poor (4 loans). Disadvantaged communes receive 0.0% of the budget under the optimised allocation and 75.0% under the proportional one.'
    """
    check_lang(lang)
    for name, a in (("optimised", optimised), ("proportional", proportional)):
        if not isinstance(a, Allocation):
            raise TypeError(f"{name!r} should be an Allocation, got {type(a).__name__}")
    o, p = optimised, proportional

    def n(v: float, d: int = 1) -> str:
        return format_number(v, lang, digits=d)

    budget = n(o.budget / 1e9)
    lo, po = int(o.table["loans"].sum()), int(p.table["loans"].sum())
    so = format_percent(o.disadvantaged_share, lang, digits=1)
    sp = format_percent(p.disadvantaged_share, lang, digits=1)
    capped = o.min_disadvantaged_amount < o.min_share * o.budget * (1 - 1e-9)
    if lang == "vi":
        note = (
            f" Mức tối thiểu {format_percent(o.min_share, lang, digits=0)} ngân sách cho các xã đặc biệt khó khăn "
            "vượt quá nhu cầu của các hộ đủ điều kiện ở đó, nên mọi hộ đủ điều kiện ở các xã này đều được vay."
            if capped
            else ""
        )
        return (
            f"Với ngân sách {budget} tỷ đồng, phương án tối ưu cho {n(lo, 0)} hộ vay và dự kiến giúp "
            f"{n(o.expected_exits)} hộ thoát nghèo ở kỳ rà soát sau (khoảng tin cậy 95%: {n(o.ci_lower)}–"
            f"{n(o.ci_upper)}), so với {n(p.expected_exits)} ({n(p.ci_lower)}–{n(p.ci_upper)}) nếu phân bổ theo số "
            f"hộ nghèo ({n(po, 0)} hộ vay). Các xã đặc biệt khó khăn nhận {so} ngân sách theo phương án tối ưu và "
            f"{sp} theo phương án phân bổ theo số hộ nghèo.{note}"
        )
    note = (
        f" The floor of {format_percent(o.min_share, lang, digits=0)} of the budget for disadvantaged communes "
        "exceeds what their eligible households can absorb, so every one of them is funded."
        if capped
        else ""
    )
    return (
        f"With a budget of {budget} billion VND, the optimised allocation funds {n(lo, 0)} loans and is expected "
        f"to lift {n(o.expected_exits)} households (95% CI {n(o.ci_lower)}–{n(o.ci_upper)}) out of poverty by the "
        f"next review, against {n(p.expected_exits)} ({n(p.ci_lower)}–{n(p.ci_upper)}) for allocation in "
        f"proportion to the number of poor ({n(po, 0)} loans). Disadvantaged communes receive {so} of the budget "
        f"under the optimised allocation and {sp} under the proportional one.{note}"
    )
