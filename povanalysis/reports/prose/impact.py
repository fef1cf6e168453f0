"""Sentences and display tables of the credit-impact analysis, in Vietnamese and English.

Every vi/en text about :mod:`povanalysis.impact` results lives here: estimator names, units,
the sentences of notebook ``02-credit-impact`` and the headings of its tables.  The functions
take results objects (:class:`~povanalysis.impact.effects.CreditEffect`,
:class:`~povanalysis.impact.studies.EventStudy`, :class:`~povanalysis.impact.studies.Heterogeneity`,
:class:`~povanalysis.impact.cost.CostPerExit`, :class:`~povanalysis.impact.simulation.SimulationStudy`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np
import pandas as pd

from ...common.labels import check_lang, format_number, label, pick
from ...common.safe import escape_markdown
from ...data.schema import CHANNEL_NAMES
from ...impact.cost import CostPerExit
from ...impact.effects import CreditEffect, planted_effect
from ...impact.simulation import SimulationStudy
from ...impact.studies import EventStudy, Heterogeneity

__all__ = [
    "DISPLAY_SCALE",
    "TERMS",
    "SIMULATION_TERMS",
    "term",
    "method_name",
    "effect_text",
    "event_study_text",
    "heterogeneity_text",
    "cost_text",
    "compare_table",
    "headline_text",
    "simulation_table",
]

#: Effects are shown in display units: percentage points for exit, log points × 100 for income.
DISPLAY_SCALE: Mapping[str, float] = MappingProxyType({"exit": 100.0, "log_income": 100.0, "deprivations": 1.0})

#: Names, units and headings of the credit analysis: key → (Vietnamese, English).
TERMS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "naive": (
            "So sánh thô hộ vay với hộ chưa từng vay (có thiên lệch)",
            "Naive: borrowers vs never-borrowers (biased)",
        ),
        "fe": ("Hiệu ứng cố định hộ (hồi quy xếp chồng)", "Household fixed effects (stacked)"),
        "did": ("Sai khác kép so le (Callaway–Sant'Anna)", "Staggered DiD (Callaway–Sant'Anna)"),
        "ipw": ("Gia trọng nghịch đảo xác suất (IPW)", "Inverse-probability weighting (IPW)"),
        "dose": ("Liều lượng – đáp ứng theo số tiền vay", "Dose–response in loan amount"),
        "vs_never": ("so với hộ chưa từng vay, có thiên lệch", "vs never-borrowers, biased"),
        "exit": ("Thoát nghèo ở kỳ rà soát sau", "Exit from poverty by the next review"),
        "log_income": ("Thay đổi log thu nhập bình quân đầu người", "Change in log per-capita income"),
        "deprivations": ("Thay đổi số chỉ số thiếu hụt", "Change in the number of deprivations"),
        "unit_exit": ("điểm phần trăm", "percentage points"),
        "unit_log_income": ("điểm log × 100", "log-points × 100"),
        "unit_deprivations": ("chỉ số", "indicators"),
        "method": ("Phương pháp", "Method"),
        "effect": ("Tác động", "Effect"),
        "biased": ("Có thiên lệch", "Biased"),
        "se": ("Sai số chuẩn", "Std. error"),
        "n": ("Số quan sát", "Observations"),
        "n_treated": ("Số hộ vay", "Borrowers"),
        "truth": ("Giá trị cài đặt của bộ sinh dữ liệu mô phỏng", "Synthetic generator's planted value"),
        "forest": ("Tác động của vốn vay chính sách", "Effect of policy loans"),
        "event": ("Tác động theo kỳ rà soát quanh khoản vay", "Effect by review relative to the loan"),
        "event_time": (
            "Số kỳ rà soát tính từ khoản vay (0 = kỳ đầu tiên sau khi vay)",
            "Reviews since the loan (0 = first review after it)",
        ),
        "reference": ("Kỳ gốc trước khi vay", "Base review before the loan"),
        "pretrend": ("Kiểm định xu hướng trước khi vay", "Pre-trend test"),
        "balance": ("Cân bằng đặc điểm trước khi vay", "Covariate balance before the loan"),
        "smd": ("Chênh lệch trung bình chuẩn hóa", "Standardised mean difference"),
        "unweighted": ("Chưa gia trọng", "Unweighted"),
        "weighted": ("Sau gia trọng IPW", "IPW-weighted"),
        "urban": ("Khu vực thành thị", "Urban"),
        "bac_kan": ("Địa bàn Bắc Kạn cũ", "Old Bac Kan area"),
        "size": ("Số nhân khẩu", "Household size"),
        "log_income_cov": ("Log thu nhập bình quân đầu người", "Log per-capita income"),
        "deprivations_cov": ("Số chỉ số thiếu hụt", "Number of deprivations"),
        "disadvantaged": ("Xã đặc biệt khó khăn (vùng III)", "Disadvantaged (Region III) communes"),
        "other_communes": ("Các xã, phường khác", "Other communes and wards"),
        "newly_escaped": ("Hộ mới thoát nghèo", "Newly escaped households"),
        "by_minority": ("Theo dân tộc", "By ethnicity"),
        "by_old_area": ("Theo địa bàn trước sáp nhập", "By pre-2025 province"),
        "by_disadvantaged": ("Theo xã đặc biệt khó khăn", "By disadvantaged commune"),
        "by_programme": ("Theo chương trình cho vay", "By lending programme"),
        "by_channel": ("Theo tổ chức nhận ủy thác", "By entrusted organisation"),
        "suppressed": ("không công bố (dưới ngưỡng số hộ)", "suppressed (too few households)"),
        **CHANNEL_NAMES,  # the four entrusted organisations (women, farmers, veterans, youth)
    }
)

#: Names and headings of the simulation study's table: key → (Vietnamese, English).
SIMULATION_TERMS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "naive": ("So sánh thô (có thiên lệch)", "Naive (biased)"),
        "fe": ("Hiệu ứng cố định hộ", "Household fixed effects"),
        "did": ("Sai khác kép so le", "Staggered DiD"),
        "ipw": ("Gia trọng IPW", "IPW"),
        "dose": ("Độ dốc theo số tiền vay (mỗi 10 triệu đồng)", "Slope in loan amount (per 10 million VND)"),
        "heterogeneity": ("Theo nhóm", "Subgroup"),
        "cost_per_exit": ("Chi phí cho mỗi hộ thoát nghèo", "Cost per exit"),
        "method": ("Phương pháp", "Method"),
        "households": ("Số hộ (bình quân)", "Households (mean)"),
        "planted": ("Tác động cài đặt", "Planted effect"),
        "runs": ("Số lần chạy", "Runs"),
        "bias": ("Sai lệch", "Bias"),
        "sd": ("Độ lệch chuẩn của ước lượng", "SD of estimates"),
        "mean_se": ("Sai số chuẩn bình quân", "Mean s.e."),
        "coverage": ("Tỷ lệ KTC chứa giá trị thật (%)", "Coverage (%)"),
        "coverage_mcse": ("Sai số Monte Carlo (%)", "Monte Carlo s.e. (%)"),
        "reject_zero": ("Tỷ lệ bác bỏ tác động bằng 0 (%)", "Rejects zero (%)"),
        "unit_exit": ("điểm %", "points"),
        "unit_log_income": ("điểm log × 100", "log-points × 100"),
        "unit_deprivations": ("chỉ số", "indicators"),
        "other_communes": ("Xã khác", "Other communes"),
        "disadvantaged": ("Xã đặc biệt khó khăn", "Disadvantaged communes"),
    }
)


def _num(value: float, lang: str, *, digits: int = 0) -> str:
    """:func:`format_number` with a true minus sign ("−0,3", never "-0,3"), as the rest of the package writes it."""
    return format_number(value, lang, digits=digits).replace("-", "\u2212")


def term(key: str, lang: str = "vi") -> str:
    """The ``lang`` text of ``key`` in :data:`TERMS`, else its package label (:func:`povanalysis.common.labels.label`).

    Examples
    --------
    >>> term("did", "en"), term("minority", "vi")
    ("Staggered DiD (Callaway–Sant'Anna)", 'Hộ dân tộc thiểu số')
    """
    return pick(TERMS, key, lang) if key in TERMS else label(key, lang)


def _sentence_term(key: str, lang: str) -> str:
    """:func:`term` for a sentence: a key the package does not know (a column name) shows literally in Markdown."""
    text = term(key, lang)
    return text if key in TERMS or text != key else escape_markdown(text)


def method_name(result: CreditEffect, lang: str = "vi") -> str:
    """The estimator's name in ``lang``; comparisons with never-borrowers say so.

    Examples
    --------
    >>> r = CreditEffect(0.1, 0.02, 500, 100, 400, 50, "ipw", "exit", "poor", "never", (2021, 2025),
    ...                  True, pd.DataFrame())
    >>> method_name(r, "en")
    'Inverse-probability weighting (IPW) (vs never-borrowers, biased)'
    """
    text = term(result.method, lang)
    if result.comparison == "never" and result.method != "naive":
        text += f" ({term('vs_never', lang)})"
    return text


def effect_text(result: CreditEffect, lang: str = "vi") -> str:
    """One sentence with the estimate and its interval, in ``lang``.

    Examples
    --------
    >>> r = CreditEffect(0.1, 0.02, 500, 100, 400, 50, "did", "exit", "poor", "not_yet", (2021, 2025),
    ...                  False, pd.DataFrame())
    >>> effect_text(r, "en")
    "Staggered DiD (Callaway–Sant'Anna): 10.0 percentage points (95% CI 6.0 to 14.0; 100 borrowers)."
    >>> from dataclasses import replace
    >>> effect_text(replace(r, effect=-0.003, se=0.002), "vi")  # a true minus sign
    "Sai khác kép so le (Callaway–Sant'Anna): −0,3 điểm phần trăm (KTC 95%: −0,7 đến 0,1; 100 hộ vay)."
    """
    lo, hi = result.conf_int()
    s = DISPLAY_SCALE[result.outcome]
    unit = term(f"unit_{result.outcome}", lang)
    if result.method == "dose":
        unit += " / 10 triệu đồng" if lang == "vi" else " per 10 million VND"
    est = f"{_num(s * result.effect, lang, digits=1)} {unit}"
    to = "đến" if lang == "vi" else "to"
    ci = f"{_num(s * lo, lang, digits=1)} {to} {_num(s * hi, lang, digits=1)}"
    if lang == "vi":
        return f"{method_name(result, lang)}: {est} (KTC 95%: {ci}; {_num(result.n_treated, lang)} hộ vay)."
    return f"{method_name(result, lang)}: {est} (95% CI {ci}; {_num(result.n_treated, lang)} borrowers)."


def event_study_text(study: EventStudy, lang: str = "vi") -> str:
    """A sentence on the pre-trend test and the effect at the first review after the loan, in ``lang``."""
    check_lang(lang)
    p = study.pretrend
    row = study.table[study.table["event_time"] == 0]
    s = DISPLAY_SCALE[study.outcome]
    unit = term(f"unit_{study.outcome}", lang)
    at0 = "" if row.empty or row["suppressed"].iloc[0] else f"{_num(s * row['effect'].iloc[0], lang, digits=1)} {unit}"
    if lang == "vi":
        pre = (
            "Không có kỳ rà soát nào trước kỳ gốc để kiểm định xu hướng trước khi vay."
            if not p["df"]
            else f"Kiểm định đồng thời các kỳ trước khi vay: F({p['df']}, {p['df_denom']}) = "
            f"{_num(p['stat'], lang, digits=2)}, "
            f"p = {_num(p['pvalue'], lang, digits=3)}; giá trị p nhỏ (dưới 0,05) cho thấy hộ vay và "
            "hộ so sánh đã khác nhau trước khi vay."
        )
        return pre + (f" Tác động ở kỳ rà soát đầu tiên sau khi vay: {at0}." if at0 else "")
    pre = (
        "No review before the base review is available to test pre-trends."
        if not p["df"]
        else f"Joint test of the leads: F({p['df']}, {p['df_denom']}) = {_num(p['stat'], lang, digits=2)}, "
        f"p = {_num(p['pvalue'], lang, digits=3)}; "
        "a small p-value (below 0.05) would mean borrowers and comparisons already differed before the loan."
    )
    return pre + (f" Effect at the first review after the loan: {at0}." if at0 else "")


def heterogeneity_text(groups: Heterogeneity, lang: str = "vi") -> str:
    """Sentences on the tests of equal effects across subgroups, in ``lang``."""
    check_lang(lang)
    out = []
    for t in groups.tests.itertuples():
        what = _sentence_term(f"by_{t.by}", lang)
        if not t.df:
            out.append(f"{what}: " + ("chưa đủ nhóm để so sánh." if lang == "vi" else "too few groups to compare."))
        elif lang == "vi":
            out.append(
                f"{what}: kiểm định tác động bằng nhau giữa các nhóm F({t.df}, {t.df_denom}) = "
                f"{_num(t.stat, lang, digits=2)}, "
                f"p = {_num(t.pvalue, lang, digits=3)}."
            )
        else:
            out.append(
                f"{what}: test of equal effects across groups F({t.df}, {t.df_denom}) = "
                f"{_num(t.stat, lang, digits=2)}, "
                f"p = {_num(t.pvalue, lang, digits=3)}."
            )
    return " ".join(out)


def cost_text(cost: CostPerExit, lang: str = "vi") -> str:
    """One sentence on the credit per household lifted out of poverty, in ``lang``."""
    check_lang(lang)
    lo, hi = cost.conf_int()
    mil = "triệu đồng" if lang == "vi" else "million VND"

    def fmt(value: float) -> str:
        return "∞" if not np.isfinite(value) else _num(value / 1e6, lang, digits=0)

    if not np.isfinite(cost.vnd_per_exit):
        return (
            "Tác động ước lượng không dương nên không tính được chi phí cho mỗi hộ thoát nghèo."
            if lang == "vi"
            else "The estimated effect is not positive, so no cost per exit can be computed."
        )
    if lang == "vi":
        return (
            f"Mỗi hộ thoát nghèo nhờ vốn vay ứng với khoảng {fmt(cost.vnd_per_exit)} {mil} vốn giải ngân "
            f"(KTC 95%: {fmt(lo)} đến {fmt(hi)} {mil}; "
            f"{'phương pháp delta' if cost.interval == 'delta' else 'phương pháp Fieller'}), "
            f"dựa trên {_num(cost.n_borrowers, lang)} hộ nghèo vay vốn."
        )
    return (
        f"Each household lifted out of poverty by a loan corresponds to about {fmt(cost.vnd_per_exit)} {mil} "
        f"of credit disbursed (95% CI {fmt(lo)} to {fmt(hi)} {mil}; "
        f"{'delta method' if cost.interval == 'delta' else 'Fieller'}), from "
        f"{_num(cost.n_borrowers, lang)} poor borrowers."
    )


def compare_table(
    results: Sequence[CreditEffect], *, truth: Mapping | float | None = None, lang: str = "vi"
) -> pd.DataFrame:
    """Estimates side by side for display, in ``lang``, in display units (points for exit).

    ``truth`` (the synthetic generator's record, :func:`povanalysis.data.pipeline.load_truth`, or a
    number) adds a row labelled as the generator's planted value.

    Examples
    --------
    >>> r = CreditEffect(0.1, 0.02, 500, 100, 400, 50, "did", "exit", "poor", "not_yet", (2021, 2025),
    ...                  False, pd.DataFrame())
    >>> compare_table([r], truth=0.1, lang="en").iloc[:, 1].tolist()
    [10.0, 10.0]
    """
    check_lang(lang)
    results = list(results)
    if not results:
        raise ValueError("'results' is empty")
    outcomes = {r.outcome for r in results}
    if len(outcomes) > 1:
        raise ValueError(f"'results' mix outcomes {sorted(outcomes)}; compare one outcome at a time")
    outcome = results[0].outcome
    s = DISPLAY_SCALE[outcome]
    unit = term(f"unit_{outcome}", lang)
    rows = []
    for r in results:
        lo, hi = r.conf_int()
        rows.append(
            (
                method_name(r, lang),
                round(s * r.effect, 2),
                round(s * r.se, 2),
                round(s * lo, 2),
                round(s * hi, 2),
                r.n_treated,
                r.n,
            )
        )
    value = planted_effect(truth, outcome, results[0].population)
    if value is not None:
        rows.append((term("truth", lang), round(s * value, 2), np.nan, np.nan, np.nan, np.nan, np.nan))
    lower, upper = ("Cận dưới", "Cận trên") if lang == "vi" else ("Lower", "Upper")
    out = pd.DataFrame(
        rows,
        columns=[
            term("method", lang),
            f"{term('effect', lang)} ({unit})",
            term("se", lang),
            f"{lower} 95%",
            f"{upper} 95%",
            term("n_treated", lang),
            term("n", lang),
        ],
    )
    for col in out.columns[-2:]:
        out[col] = out[col].astype("Int64")
    return out


def headline_text(results: Sequence[CreditEffect], *, truth: Mapping | float | None = None, lang: str = "vi") -> str:
    """A paragraph setting the naive estimate against the credible ones (and the planted value), in ``lang``.

    Examples
    --------
    >>> a = CreditEffect(0.14, 0.02, 900, 100, 800, 50, "naive", "exit", "poor", "never", (2021, 2025),
    ...                  True, pd.DataFrame())
    >>> b = CreditEffect(0.10, 0.03, 500, 100, 400, 50, "did", "exit", "poor", "not_yet", (2021, 2025),
    ...                  False, pd.DataFrame())
    >>> headline_text([a, b], lang="en").split(". ")[0]
    'Comparing borrowers with households that never borrowed gives 14.0 percentage points (95% CI 10.0 to 18.0)'
    """
    check_lang(lang)
    results = list(results)
    if not results:
        raise ValueError("'results' is empty")
    outcome = results[0].outcome
    s = DISPLAY_SCALE[outcome]
    unit = term(f"unit_{outcome}", lang)

    def one(r):
        lo, hi = r.conf_int()
        conj = "đến" if lang == "vi" else "to"
        ci = "KTC 95%:" if lang == "vi" else "95% CI"
        return (
            f"{_num(s * r.effect, lang, digits=1)} {unit} ({ci} {_num(s * lo, lang, digits=1)} "
            f"{conj} {_num(s * hi, lang, digits=1)})"
        )

    parts = []
    for r in results:
        if not r.biased:
            continue
        if r.method == "naive" and lang == "vi":
            parts.append(
                f"So sánh thô giữa hộ vay và hộ chưa từng vay cho {one(r)}. Kết quả này có thiên lệch: hộ vay "
                "khác hộ không vay ở những đặc điểm dữ liệu không thể hiện (như ý chí làm ăn), vốn cũng giúp "
                "thoát nghèo."
            )
        elif r.method == "naive":
            parts.append(
                f"Comparing borrowers with households that never borrowed gives {one(r)}. This is biased: "
                "borrowers differ from non-borrowers in traits the data do not show (such as drive) that also "
                "help them leave poverty."
            )
        elif lang == "vi":
            parts.append(
                f"{method_name(r, lang)} cho {one(r)}: làm cho hộ chưa từng vay giống hộ vay về những đặc "
                "điểm quan sát được vẫn không loại bỏ được khác biệt ở những đặc điểm không quan sát được."
            )
        else:
            parts.append(
                f"{method_name(r, lang)} gives {one(r)}: making never-borrowers look like borrowers on what "
                "the data show does not remove the difference in what they do not show."
            )
    credible = [r for r in results if not r.biased]
    if credible:
        listed = "; ".join(f"{method_name(r, lang)}: {one(r)}" for r in credible)
        parts.append(
            (
                "So sánh hộ vay với hộ có hoàn cảnh như nhau nhưng vay muộn hơn: "
                if lang == "vi"
                else "Comparing borrowers with households in the same situation that borrow later: "
            )
            + listed
            + "."
        )
    value = planted_effect(truth, outcome, results[0].population)
    if value is not None:
        extra = ""
        if isinstance(truth, Mapping) and outcome == "exit" and "credit_effect_realised" in truth:
            real = _num(s * truth["credit_effect_realised"], lang, digits=2)
            extra = f" ({'thực hiện trong mẫu' if lang == 'vi' else 'realised in the sample'}: {real})"
        parts.append(f"{term('truth', lang)}: {_num(s * value, lang, digits=1)} {unit}{extra}.")
    return " ".join(parts)


def _simulation_term(key: str, lang: str) -> str:
    return pick(SIMULATION_TERMS, key, lang) if key in SIMULATION_TERMS else label(key, lang)


def _simulation_name(estimator: str, name: str, lang: str) -> str:
    if estimator == "event_study":
        lead = name.split()[-1].replace("-", "−")
        return f"Kỳ rà soát {lead} (trước khi vay)" if lang == "vi" else f"Lead {lead} (before the loan)"
    if estimator == "heterogeneity":
        return f"{_simulation_term('heterogeneity', lang)}: {_simulation_term(name.split('=')[1], lang)}"
    if estimator == "cost_per_exit":
        return f"{_simulation_term(estimator, lang)} ({'Fieller' if name == 'fieller' else 'delta'})"
    return _simulation_term(estimator, lang)


def simulation_table(study: SimulationStudy, *, lang: str = "vi") -> pd.DataFrame:
    """The simulation study for reading, in ``lang``: estimates in display units, shares in percent, rounded.

    Effects, bias, standard deviation and standard error are in the outcome's display units
    (percentage points for exit); cost-per-exit rows show only their coverage.

    Examples
    --------
    >>> runs = pd.DataFrame({"seed": [1, 2], "scale": 0.01, "planted": 0.0, "households": 4000,
    ...                      "estimator": "did", "term": "effect", "truth": 0.0, "estimate": [0.01, -0.03],
    ...                      "se": 0.05, "ci_lower": [-0.09, -0.13], "ci_upper": [0.11, 0.07],
    ...                      "n_treated": 50, "note": "", "covered": True, "reject_zero": False})
    >>> s = SimulationStudy(runs, (1, 2), (0.01,), (0.0,), "exit", 0.05)
    >>> simulation_table(s, lang="en").iloc[:, [0, 3, 4, 7]].to_dict("records")
    [{'Method': 'Staggered DiD', 'Runs': 2, 'Bias (points)': -1.0, 'Coverage (%)': 100.0}]
    """
    check_lang(lang)
    t = study.to_frame()
    s = DISPLAY_SCALE[study.outcome]
    unit = _simulation_term(f"unit_{study.outcome}", lang)
    names = [_simulation_name(r.estimator, r.term, lang) for r in t.itertuples()]
    cost = (t["estimator"] == "cost_per_exit").to_numpy()
    moments = {
        key: np.where(cost, np.nan, s * t[col].to_numpy(float)).round(2)
        for key, col in (("bias", "bias"), ("sd", "sd_estimate"), ("mean_se", "mean_se"))
    }
    return pd.DataFrame(
        {
            _simulation_term("method", lang): names,
            _simulation_term("households", lang): t["households"].round().astype("Int64"),
            f"{_simulation_term('planted', lang)} ({unit})": (s * t["planted"]).round(2),
            _simulation_term("runs", lang): t["runs"],
            f"{_simulation_term('bias', lang)} ({unit})": moments["bias"],
            f"{_simulation_term('sd', lang)} ({unit})": moments["sd"],
            f"{_simulation_term('mean_se', lang)} ({unit})": moments["mean_se"],
            _simulation_term("coverage", lang): (100 * t["coverage"]).round(1),
            _simulation_term("coverage_mcse", lang): (100 * t["coverage_mcse"]).round(1),
            _simulation_term("reject_zero", lang): np.where(cost, np.nan, (100 * t["reject_zero"]).round(1)),
        }
    )
