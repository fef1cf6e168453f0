"""The sections of the commune report: title, texts, tables and figures of one commune, from its :class:`CommuneContext`.

One module because the sections of one page are one publication: they print the same figures
(the overview's totals are the ethnic table's total, the trend's rates the chart's labels)
under one disclosure decision, and read the same context the same way.

Every text that comes from data (the unit's name and predecessors, ethnic groups, indicator and
target keys) meets Markdown through :func:`povanalysis.common.safe.escape_markdown`, table cells
through :func:`povanalysis.common.safe.escape_html`, and chart titles, legends and hover text
through :func:`povanalysis.reports.html.literal_labels`: it shows as typed and never becomes markup.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from IPython.display import HTML, Markdown

from ..common.labels import af_cutoff, af_label, check_lang, format_number, format_percent, glossary, label, pick
from ..common.safe import escape_html, escape_markdown
from ..data.schema import PROGRAMMES
from ..figures.charts import contribution_bars, deprivation_profile, rate_trend
from ..figures.exits import plot_exits
from ..figures.goals import plot_fan_chart
from ..geo import maps
from ..measure.standards import get_standard
from ..targeting import followup
from . import grassroots, published
from . import prepare as _prepare
from .disclosure import DASH, rate_band
from .html import literal_labels
from .prepare import NOT_POSITIVE, OPTIONAL_SECTIONS, CommuneContext
from .prose import exits as prose_exits

__all__ = [
    "title",
    "section",
    "overview_text",
    "households_text",
    "trend_text",
    "rate_figure",
    "profile_text",
    "profile_figure",
    "contribution_figure",
    "ethnicity_text",
    "ethnicity_table",
    "credit_text",
    "credit_table",
    "coverage_text",
    "map_figure",
    "path_text",
    "path_figure",
    "risk_text",
    "exits_text",
    "exits_figure",
    "exits_table",
    "villages_text",
    "village_table",
]

#: Names that moved to :mod:`povanalysis.reports.prepare` in 0.2.0 (importable from here, with a
#: DeprecationWarning, for one release, as ``povanalysis.report`` is).
MOVED: tuple[str, ...] = (
    "FORMAT",
    "CONTEXT_ENV",
    "PROJECTION_SETTINGS",
    "code_digest",
    "context_dir",
    "prepare",
    "ensure_prepared",
    "manifest_digest",
    "read_manifest",
    "shared_tables",
    "commune_context",
    "key_figures",
)


def __getattr__(name: str) -> Any:
    if name in MOVED:
        warnings.warn(
            f"povanalysis.reports.sections.{name} moved to povanalysis.reports.prepare.{name}; the old "
            "name will be removed in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(_prepare, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_TEXT = {
    "ward": ("phường", "ward"),
    "commune": ("xã", "commune"),
    "town": ("thị trấn", "town"),
    "overview": ("Tổng quan", "Overview"),
    "trend": ("Tỷ lệ hộ nghèo và cận nghèo qua các kỳ rà soát", "Poor and near-poor rates over the reviews"),
    "profile": ("Hồ sơ thiếu hụt đa chiều (Alkire–Foster)", "Multidimensional deprivation profile (Alkire–Foster)"),
    "ethnicity": ("Thành phần dân tộc", "Ethnic groups"),
    "map": ("Bản đồ", "Map"),
    "credit": ("Tín dụng chính sách (Ngân hàng Chính sách xã hội)", "Policy credit (Vietnam Bank for Social Policies)"),
    "targeting": ("Độ bao phủ và sai lệch đối tượng vay vốn", "Coverage of eligible households and leakage"),
    "projections": ("Lộ trình giảm nghèo 2026–2030", "Poverty-reduction path 2026–2030"),
    "risk": ("Hộ có nguy cơ tái nghèo", "Households at risk of falling back into poverty"),
    "exits": ("Thoát nghèo bền vững", "Lasting exits from poverty"),
    "villages": ("Hộ mới thoát nghèo theo thôn, tổ dân phố", "Newly escaped households by village"),
    "other_groups": ("Dân tộc khác", "Other groups"),
    "programme_poor": ("Hộ nghèo", "Poor households"),
    "programme_near_poor": ("Hộ cận nghèo", "Near-poor households"),
    "programme_newly_escaped": ("Hộ mới thoát nghèo", "Newly escaped households"),
    "year": ("Năm giải ngân", "Year disbursed"),
    "loans": ("Số khoản vay", "Loans"),
    "borrowers": ("Số hộ vay", "Borrowing households"),
    "amount": ("Số tiền (triệu đồng)", "Amount (million VND)"),
    "share_households": ("Tỷ lệ trong tổng số hộ", "Share of households"),
    "poor_households": ("Số hộ nghèo", "Poor households"),
    "fewer_than": ("dưới {n}", "fewer than {n}"),
    "total": ("Tổng", "Total"),
    "not_published": ("không công bố", "not published"),
}


def _t(key: str, lang: str) -> str:
    return pick(_TEXT, key, lang)


# ----------------------------------------------------------------------------- text helpers


def _pct(value, lang: str) -> str:
    return format_percent(float(value), lang)


def _num(value, lang: str, digits: int = 0) -> str:
    return format_number(float(value), lang, digits=digits)


def _points(change: float, lang: str) -> str:
    text = f"{abs(100 * change):.2f}"
    return text.replace(".", ",") if lang == "vi" else text


def _published_count(row: pd.Series, column: str, lang: str, min_cell: int) -> str | None:
    """A count of a prepared row in words, as the rule publishes it ("fewer than 10"; None: hidden to protect another).

    A row without the rule's marks shows its count, or "fewer than" when under the limit.
    """
    value = row[column]
    hidden = row.get(f"{column}__hidden")
    if hidden is None or hidden != hidden:
        hidden = value < min_cell
    if not bool(hidden):
        return _num(value, lang)
    if row.get(f"{column}__reason") == "complement":
        return None
    return _t("fewer_than", lang).format(n=min_cell)


def _words(cell: str, lang: str) -> str | None:
    """A published cell in a sentence: ``< 10`` reads "dưới 10" ("fewer than 10", "under 5%" for a rate), ``–`` None."""
    if cell == DASH or cell == "":
        return None
    if cell.startswith("< "):
        bound = cell[2:]
        return ("dưới " if lang == "vi" else ("under " if bound.endswith("%") else "fewer than ")) + bound
    return cell


def _page(ctx: CommuneContext, rows: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The published text (:func:`povanalysis.reports.published.shown`) of some of the page's household rows."""
    return published.shown(published.restore(rows, published.HOUSEHOLDS, min_cell=ctx.min_cell), lang)


def _commune_row(ctx: CommuneContext, lang: str, year: int | None = None) -> pd.Series | None:
    """The commune's published figures at a review (``year``, default the report's), or None."""
    p = ctx.published
    if p.empty:
        return None
    year = ctx.review_year if year is None else year
    rows = p[(p["commune_code"] == ctx.code) & (p["ethnicity"] == published.ALL) & (p["review_year"] == year)]
    if rows.empty:
        return None
    return _page(ctx, rows, lang).iloc[0]


def _name(ctx: CommuneContext) -> str:
    """The unit's name, literal in Markdown."""
    return escape_markdown(ctx.name)


def _data_label(key: str, lang: str) -> str:
    """The label of a key read from data (the key itself when unknown), literal in Markdown."""
    return escape_markdown(label(key, lang))


def _join(items: list[str], lang: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + (" và " if lang == "vi" else " and ") + items[-1]


_SECTION_TEXT = {
    "overview": ("overview_text", "households_text"),
    "trend": ("trend_text",),
    "map": (),
    "profile": ("profile_text",),
    "ethnicity": ("ethnicity_text",),
    "credit": ("credit_text",),
    "targeting": ("coverage_text",),
    "projections": ("path_text",),
    "risk": ("risk_text",),
    "exits": ("exits_text",),
    "villages": ("villages_text",),
}


def section(key: str, ctx: CommuneContext, *, lang: str = "vi") -> Markdown | None:
    """A section's heading and its text, or None when the section is not available.

    Sections: ``overview``, ``trend``, ``map``, ``profile``, ``ethnicity``, ``credit``
    and the optional ``targeting``, ``projections``, ``risk`` (:data:`OPTIONAL_SECTIONS`),
    which are left out when their module or table is missing; ``exits`` (lasting exits, left
    out when they could not be prepared) and ``villages`` (one sentence without villages).

    Examples
    --------
    >>> ctx = CommuneContext("01840", 2024, {}, *(pd.DataFrame(),) * 6, sections={"map": False},
    ...                      min_cell=10, synthetic=True)
    >>> section("map", ctx) is None
    True
    """
    check_lang(lang)
    if key not in _SECTION_TEXT:
        raise ValueError(f"section {key!r} is not one of {list(_SECTION_TEXT)}")
    if key in OPTIONAL_SECTIONS and not ctx.sections.get(key):
        return None
    parts = [f"## {_t(key, lang)}"]
    for name in _SECTION_TEXT[key]:
        text = globals()[name](ctx, lang=lang)
        if text is None:
            return None
        parts.append(text.data)
    return Markdown("\n\n".join(parts))


def title(ctx: CommuneContext, *, lang: str = "vi") -> Markdown:
    """The report's title: the unit's name, the review, its code, and a warning when the data are synthetic.

    Examples
    --------
    >>> ctx = CommuneContext("01840", 2024, {"name": "Phường Đức Xuân"}, *(pd.DataFrame(),) * 6,
    ...                      sections={}, min_cell=10, synthetic=False)
    >>> print(title(ctx, lang="en").data)
    # Phường Đức Xuân
    <BLANKLINE>
    *Poverty report, 2024 review · code 01840*
    """
    check_lang(lang)
    code = escape_markdown(ctx.code)
    sub = (
        f"Báo cáo giảm nghèo, kỳ rà soát năm {ctx.review_year} · mã {code}"
        if lang == "vi"
        else f"Poverty report, {ctx.review_year} review · code {code}"
    )
    text = f"# {_name(ctx)}\n\n*{sub}*"
    if ctx.synthetic:
        text += f"\n\n**{label('source_synthetic', lang)}.**"
    return Markdown(text)


def overview_text(ctx: CommuneContext, *, lang: str = "vi") -> Markdown:
    """Name, type, code, old area and the pre-2025 units the commune was formed from."""
    check_lang(lang)
    u = ctx.unit
    kind = _t(u["unit_type"], lang)
    area = _data_label(u["old_area"], lang)
    area = area[:1].lower() + area[1:]
    names = [escape_markdown(n) for n in u["predecessors"].split("|")]
    parts = u["predecessor_parts"].split("|")
    part = " (một phần)" if lang == "vi" else " (part)"
    olds = [n + (part if p == "1" else "") for n, p in zip(names, parts)]
    districts = [escape_markdown(d) for d in u["predecessor_districts"].split("|")]
    name, code = _name(ctx), escape_markdown(ctx.code)
    if lang == "vi":
        text = f"**{name}** là {kind} của tỉnh Thái Nguyên (mã {code}), thuộc {area}. "
        if u["unchanged"]:
            text += "Đơn vị giữ nguyên tên và địa giới khi sắp xếp đơn vị hành chính cấp xã ngày 1/7/2025."
        else:
            text += (
                f"Đơn vị được thành lập ngày 1/7/2025 từ {len(olds)} đơn vị cũ: {_join(olds, lang)} "
                f"({_join(districts, lang)})."
            )
    else:
        text = f"**{name}** is a {kind} of Thai Nguyen province (code {code}) in the {area}. "
        if u["unchanged"]:
            text += "It kept its name and territory in the reorganisation of 1 July 2025."
        else:
            text += (
                f"It was formed on 1 July 2025 from {len(olds)} former units: {_join(olds, lang)} "
                f"({_join(districts, lang)})."
            )
    return Markdown(text)


def households_text(ctx: CommuneContext, *, lang: str = "vi") -> Markdown:
    """Households, persons, poor and near-poor households at the review."""
    check_lang(lang)
    row = ctx.current()
    y = ctx.review_year
    if row["suppressed"]:
        text = (
            f"Tại kỳ rà soát năm {y}, số hộ của {_name(ctx)} dưới ngưỡng công bố ({ctx.min_cell} hộ)."
            if lang == "vi"
            else f"At the {y} review {_name(ctx)} had fewer households than the publication limit ({ctx.min_cell})."
        )
        return Markdown(text)
    shown = _commune_row(ctx, lang)
    if shown is not None and not shown["households__exact"]:  # hidden so that no other figure can be worked out
        return Markdown(
            f"Tại kỳ rà soát năm {y}, số hộ của {_name(ctx)} không công bố, để không suy ra được số liệu khác."
            if lang == "vi"
            else f"The number of households of {_name(ctx)} at the {y} review is not published, so that no other "
            "figure can be worked out from it."
        )
    h, p = _num(row["households"], lang), _num(row["persons"], lang)
    if lang == "vi":
        parts = []
        for count, rate, noun in (("poor", "poor_rate", "hộ nghèo"), ("near_poor", "near_poor_rate", "hộ cận nghèo")):
            n, r = _words(shown[count], lang), _words(shown[rate], lang)
            if n is None:
                parts.append(f"số {noun} không công bố")
            else:
                parts.append(f"{n} {noun}" + (f" (tỷ lệ {r})" if r else ""))
        text = f"Tại kỳ rà soát năm {y}, {_name(ctx)} có {h} hộ ({p} nhân khẩu), trong đó {parts[0]} và {parts[1]}."
    else:
        parts = []
        for count, rate, noun in (("poor", "poor_rate", "poor"), ("near_poor", "near_poor_rate", "near-poor")):
            n, r = _words(shown[count], lang), _words(shown[rate], lang)
            if n is None:
                parts.append(f"the number of {noun} households not published")
            else:
                plural = "" if shown[count] == "1" else "s"
                parts.append(f"{n} {noun} household{plural}" + (f" (a rate of {r})" if r else ""))
        text = f"At the {y} review {_name(ctx)} had {h} households ({p} persons): {parts[0]} and {parts[1]}."
    return Markdown(text)


def _change_phrase(first: pd.Series, last: pd.Series, lang: str) -> str:
    a, b = _pct(first["poor_rate"], lang), _pct(last["poor_rate"], lang)
    change = last["poor_rate"] - first["poor_rate"]
    y0, y1 = int(first["review_year"]), int(last["review_year"])
    if lang == "vi":
        verb, to = ("giảm", "xuống") if change < 0 else ("tăng", "lên")
        if change == 0:
            return f"giữ nguyên ở mức {a} từ năm {y0} đến năm {y1}"
        return f"{verb} từ {a} năm {y0} {to} {b} năm {y1} ({verb} {_points(change, lang)} điểm phần trăm)"
    if change == 0:
        return f"stayed at {a} from {y0} to {y1}"
    verb = "fell" if change < 0 else "rose"
    return f"{verb} from {a} in {y0} to {b} in {y1} ({_points(change, lang)} points)"


def trend_text(ctx: CommuneContext, *, lang: str = "vi") -> Markdown:
    """How the commune's poor rate moved since the first review, against its old area and the province."""
    check_lang(lang)
    rates = ctx.rates
    exact = ~rates["suppressed"] & ~_hidden(rates, "poor_rate")
    shown = rates[exact & (rates["review_year"] <= ctx.review_year)]
    if len(shown) < 2:
        text = (
            f"Không đủ số liệu công bố của {_name(ctx)} để so sánh giữa các kỳ rà soát."
            if lang == "vi"
            else f"Too few published reviews of {_name(ctx)} to compare over time."
        )
        return Markdown(text)
    first, last = shown.iloc[0], shown.iloc[-1]
    years = [int(first["review_year"]), int(last["review_year"])]
    comparisons = []
    for key in (ctx.unit["old_area"], "province"):
        areas = ctx.areas[~ctx.areas["suppressed"] & ~_hidden(ctx.areas, "poor_rate")]
        rows = areas[(areas["old_area"] == key) & areas["review_year"].isin(years)]
        rows = rows.sort_values("review_year")
        if len(rows) == 2:
            comparisons.append((_data_label(key, lang), _change_phrase(rows.iloc[0], rows.iloc[1], lang)))
    if lang == "vi":
        text = f"Tỷ lệ hộ nghèo của {_name(ctx)} {_change_phrase(first, last, lang)}."
        if comparisons:
            text += " Cùng kỳ, " + "; ".join(f"{n[0].lower() + n[1:]} {p}" for n, p in comparisons) + "."
    else:
        text = f"The poor-household rate of {_name(ctx)} {_change_phrase(first, last, lang)}."
        if comparisons:
            text += (
                " Over the same reviews the rate of the "
                + "; that of the ".join(f"{n[0].lower() + n[1:]} {p}" for n, p in comparisons)
                + "."
            )
    return Markdown(text)


def _hidden(rates: pd.DataFrame, rate: str) -> pd.Series:
    """Where the disclosure rule does not publish ``rate`` as a number (all shown when the table has no marks)."""
    column = f"{rate}__hidden"
    if column not in rates.columns:
        return pd.Series(False, index=rates.index)
    return rates[column].fillna(True).astype(bool)


def rate_figure(ctx: CommuneContext, *, rate: str = "poor_rate", lang: str = "vi") -> go.Figure:
    """Lines of a rate over the reviews: the commune, its old area and the province.

    A rate the disclosure rule does not publish as a number (its count under the limit) is
    left out, as suppressed cells are: its printed label would give the count back.
    """
    check_lang(lang)
    rates = ctx.rates.assign(suppressed=ctx.rates["suppressed"] | _hidden(ctx.rates, rate))
    commune = literal_labels(rates.assign(group=ctx.name), "group")
    area_rows = ctx.areas.assign(suppressed=ctx.areas["suppressed"] | _hidden(ctx.areas, rate))
    areas = literal_labels(area_rows.assign(group=area_rows["old_area"]), "group")
    table = pd.concat([commune, areas], ignore_index=True)
    table = table[table["review_year"] <= ctx.review_year]
    # the commune first and thickest; rate_trend refuses a focus with no point shown (all hidden)
    mine = commune["group"].iloc[0]
    shown = (table["group"] == mine) & ~table["suppressed"]
    fig = rate_trend(table, rate=rate, group="group", focus=mine if shown.any() else None, lang=lang)
    fig.update_layout(height=380)
    return fig


def _af_rows(ctx: CommuneContext, year: int | None = None) -> pd.DataFrame:
    """The Alkire–Foster rows a page may print, under the disclosure rule.

    A headcount (``H``, ``hd``, ``hdk``) is a share of the ``n`` households the page names:
    printed to a decimal it gives its count back.  A review whose multidimensionally poor
    households (H × n) are under the limit is not published; an indicator whose count is
    under the limit is left out (its ``hd``, ``hdk`` and contribution ``pctb``), with the
    next smallest when it is the only one, as M0 and the contributions (summing to 100) would
    give a lone one back.
    """
    af = ctx.af[~ctx.af["suppressed"]]
    af = af if year is None else af[af["review_year"] == year]
    if af.empty or "n" not in af.columns:
        return af
    count = np.round(af["value"] * af["n"])
    small = (count > 0) & (count < ctx.min_cell)
    heads = af["measure"] == "H"
    poor_small = set(af.loc[heads & small, "review_year"])
    af = af[~af["review_year"].isin(poor_small)]
    drop = []
    for y, rows in af[af["measure"] == "hdk"].groupby("review_year"):
        c = count.loc[rows.index]
        hidden = list(rows.loc[small.loc[rows.index], "indicator"])
        if len(hidden) == 1:
            rest = c[~small.loc[rows.index] & (c > 0)].sort_values(kind="stable")
            hidden += list(rows.loc[rest.index[:1], "indicator"])
        drop += [(y, i) for i in hidden]
    if drop:
        pairs = pd.MultiIndex.from_frame(af[["review_year", "indicator"]])
        gone = pairs.isin(drop) & af["measure"].isin(["hd", "hdk", "pctb"]).to_numpy()
        af = af[~gone]
    return af


def profile_text(ctx: CommuneContext, *, lang: str = "vi") -> Markdown:
    """The Alkire–Foster H, A and M0 of the commune at the review, the indicator contributing most to M0,
    and the glossary that tells H from the official poor-household rate (:func:`povanalysis.common.labels.glossary`)."""
    check_lang(lang)
    af = _af_rows(ctx, ctx.review_year)
    if af.empty:
        year = ctx.af[(ctx.af["review_year"] == ctx.review_year) & ~ctx.af["suppressed"]] if len(ctx.af) else ctx.af
        if len(year):  # households enough, but fewer deprived ones than the limit; the terms still explained
            text = (
                f"Tại {_name(ctx)}, số hộ thiếu hụt đa chiều dưới {ctx.min_cell} hộ: hồ sơ thiếu hụt không công bố."
                if lang == "vi"
                else f"{_name(ctx)} has fewer than {ctx.min_cell} multidimensionally deprived households: the "
                "profile is not published."
            )
            std = get_standard(year["standard"].iloc[0])
            return Markdown(text + "\n\n" + glossary(std, lang, k=af_cutoff(year)["k"]))
        return Markdown("Số hộ dưới ngưỡng công bố." if lang == "vi" else "Too few households to publish.")
    value = af[af["indicator"].isna()].set_index("measure")["value"]
    std = get_standard(af["standard"].iloc[0])
    n_ind = len(std.columns)
    cutoff = af_cutoff(af)
    h_label = af_label("H", lang, **cutoff)
    std_label = std.label_vi if lang == "vi" else std.label_en
    pctb = af[(af["measure"] == "pctb") & (af["value"] > 0)].sort_values("value", ascending=False)
    h, m0 = _pct(value["H"], lang), f"{value['M0']:.3f}"
    a = _pct(value["A"], lang) if np.isfinite(value["A"]) else "–"
    if lang == "vi":
        m0 = m0.replace(".", ",")
        text = (
            f"Đo theo phương pháp Alkire–Foster (AF) với {n_ind} chỉ số thiếu hụt của "
            f"{std_label[0].lower() + std_label[1:]}, trọng số bằng nhau. Năm {ctx.review_year}: "
            f"{h_label[0].lower() + h_label[1:]} = {h}, cường độ thiếu hụt A = {a}, chỉ số M0 = H × A = {m0}."
        )
        if not pctb.empty:
            top = pctb.iloc[0]
            text += (
                f" Chỉ số đóng góp nhiều nhất vào M0 là «{_data_label(top['indicator'], lang)}» "
                f"({format_percent(top['value'] / 100, lang, digits=1)})."
            )
        text += " Đây là các chỉ số phân tích, không phải số liệu chính thức; H không phải là tỷ lệ hộ nghèo."
    else:
        text = (
            f"Measured by the Alkire–Foster (AF) method on the {n_ind} deprivation indicators of the "
            f"{std_label[0].lower() + std_label[1:]}, equally weighted. In {ctx.review_year}: {h_label} = {h}, "
            f"intensity A = {a}, adjusted headcount ratio M0 = H × A = {m0}."
        )
        if not pctb.empty:
            top = pctb.iloc[0]
            text += (
                f" The indicator contributing most to M0 is '{_data_label(top['indicator'], lang)}' "
                f"({format_percent(top['value'] / 100, lang, digits=1)})."
            )
        text += " These are analytic measures, not official statistics; H is not the poor-household rate."
    return Markdown(text + "\n\n" + glossary(std, lang, k=cutoff["k"]))


def profile_figure(ctx: CommuneContext, *, lang: str = "vi") -> go.Figure | None:
    """Censored headcount ratios of the indicators at the review (None when every indicator is suppressed)."""
    check_lang(lang)
    af = _af_rows(ctx, ctx.review_year)
    if not (af["measure"] == "hdk").any():  # every indicator's count under the limit: no bar to draw
        return None
    return deprivation_profile(af, measure="hdk", lang=lang)


def contribution_figure(ctx: CommuneContext, *, lang: str = "vi") -> go.Figure | None:
    """Percentage contributions of the indicators to M0, review by review (None when all suppressed)."""
    check_lang(lang)
    af = _af_rows(ctx)
    af = af[(af["review_year"] <= ctx.review_year) & (af["measure"] == "pctb")].dropna(subset=["value"])
    if af.empty:
        return None
    return contribution_bars(af, lang=lang)


def _ethnic_name(key: str, lang: str) -> str:
    return _t("other_groups", lang) if key == "other" else key


def ethnicity_text(ctx: CommuneContext, *, lang: str = "vi") -> Markdown:
    """The ethnic-minority share of households and of poor households at the review."""
    check_lang(lang)
    row = ctx.current()
    eth = ctx.ethnicity[ctx.ethnicity["review_year"] == ctx.review_year]
    if row["suppressed"] or eth.empty:
        return Markdown("Số hộ dưới ngưỡng công bố." if lang == "vi" else "Too few households to publish.")
    shown = eth[~eth["suppressed"]].sort_values("households", ascending=False)
    top = shown.iloc[0]["ethnicity"] if not shown.empty else "other"
    largest = escape_markdown(top) if top != "other" else ""
    p = ctx.published
    mine = p[
        (p["commune_code"] == ctx.code) & (p["ethnicity"] == published.ALL) & (p["review_year"] == ctx.review_year)
    ]
    share = None
    if len(mine) and not bool(mine["minority_share_of_poor__hidden"].iloc[0]):
        share = _pct(mine["minority_share_of_poor"].iloc[0], lang)
    if lang == "vi":
        text = f"Tại {_name(ctx)}, nhóm đông nhất là dân tộc {largest}." if largest else ""
        if share:
            text += f" Hộ dân tộc thiểu số chiếm {share} số hộ nghèo năm {ctx.review_year}."
    else:
        text = f"The largest group in {_name(ctx)} is {largest}." if largest else ""
        if share:
            text += f" Ethnic-minority households make up {share} of poor households in {ctx.review_year}."
    return Markdown(text.strip())


def _html_table(frame: pd.DataFrame, *, note: str | None = None) -> HTML:
    """A table of text cells, each escaped (missing cells shown as –), and its note."""
    cells = frame.map(lambda v: "–" if v is None or (isinstance(v, float) and np.isnan(v)) else escape_html(v))
    cells.columns = [escape_html(c) for c in frame.columns]
    html = cells.to_html(index=False, border=0, classes="report-table", escape=False)
    if note:
        html += f'\n<p class="table-note">{escape_html(note)}</p>'
    return HTML(html)


def _suppressed_note(ctx: CommuneContext, lang: str) -> str:
    return published.note(ctx.min_cell, lang)


def ethnicity_table(ctx: CommuneContext, *, lang: str = "vi") -> HTML:
    """Households, their share, poor households and the poor rate by ethnic group at the review, and the total.

    Every figure as the disclosure rule publishes it (:mod:`povanalysis.reports.published`):
    the groups and the commune's total are one equation, protected with the province's.
    """
    check_lang(lang)
    eth = ctx.ethnicity[ctx.ethnicity["review_year"] == ctx.review_year].copy()
    eth["order"] = (eth["ethnicity"] == "other").astype(int)
    eth = eth.sort_values(["order", "households"], ascending=[True, False], kind="stable")
    p = ctx.published
    total = p[
        (p["commune_code"] == ctx.code) & (p["ethnicity"] == published.ALL) & (p["review_year"] == ctx.review_year)
    ]
    rows = pd.concat([eth.drop(columns=["order", "suppressed"]), total], ignore_index=True)
    text = _page(ctx, rows, lang)
    whole = bool(text["households__exact"].iloc[-1])
    share = [_pct(v, lang) if exact and whole else DASH for v, exact in zip(rows["share"], text["households__exact"])]
    names = [_ethnic_name(e, lang) for e in eth["ethnicity"]] + [_t("total", lang)]
    table = pd.DataFrame(
        {
            label("ethnicity", lang): names,
            label("households", lang): text["households"].tolist(),
            _t("share_households", lang): share,
            _t("poor_households", lang): text["poor"].tolist(),
            label("poor_rate", lang): text["poor_rate"].tolist(),
        }
    )
    note = _suppressed_note(ctx, lang) + (
        " Các dân tộc có ít hộ được gộp vào «Dân tộc khác»."
        if lang == "vi"
        else " Groups with few households are pooled into 'Other groups'."
    )
    return _html_table(table, note=note)


def credit_text(ctx: CommuneContext, *, lang: str = "vi") -> Markdown:
    """Loans, borrowing households and amounts disbursed by the VBSP in the commune."""
    check_lang(lang)
    total = ctx.credit[(ctx.credit["programme"] == "all") & (ctx.credit["year"] <= ctx.review_year)]
    if total.empty:
        return Markdown(
            f"Không có khoản vay nào được ghi nhận tại {_name(ctx)} đến năm {ctx.review_year}."
            if lang == "vi"
            else f"No loans are recorded in {_name(ctx)} up to {ctx.review_year}."
        )
    y0, y1 = int(total["year"].min()), int(total["year"].max())
    last = total[total["year"] == y1].iloc[0]
    hidden = _credit_hidden(total)
    borrowers = _words(_borrowers_cell(last, lang, ctx.min_cell), lang) or _t("not_published", lang)
    if bool(_credit_hidden(last.to_frame().T).iloc[0]):
        text = (
            f"Năm {y1}, Ngân hàng Chính sách xã hội giải ngân vốn vay cho {borrowers} hộ tại {_name(ctx)}; số khoản "
            "vay và số tiền không công bố."
            if lang == "vi"
            else f"In {y1} the Vietnam Bank for Social Policies lent to {borrowers} households in {_name(ctx)}; the "
            "number of loans and the amount are not published."
        )
        return Markdown(text)
    n_loans = _num(last["loans"], lang)
    if lang == "vi":
        text = (
            f"Năm {y1}, Ngân hàng Chính sách xã hội giải ngân {n_loans} khoản vay cho {borrowers} hộ tại {_name(ctx)}"
        )
        text += f", tổng số tiền {_num(last['amount'] / 1e6, lang)} triệu đồng."
        if y0 < y1 and not hidden.any():
            text += (
                f" Từ {y0} đến {y1}: {_num(total['loans'].sum(), lang)} khoản vay, "
                f"{_num(total['amount'].sum() / 1e6, lang)} triệu đồng."
            )
    else:
        text = f"In {y1} the Vietnam Bank for Social Policies disbursed {n_loans} loans to {borrowers} households in {_name(ctx)}"
        text += f", {_num(last['amount'] / 1e6, lang)} million VND in all."
        if y0 < y1 and not hidden.any():
            text += (
                f" From {y0} to {y1}: {_num(total['loans'].sum(), lang)} loans, "
                f"{_num(total['amount'].sum() / 1e6, lang)} million VND."
            )
    return Markdown(text)


def _credit_hidden(rows: pd.DataFrame) -> pd.Series:
    """Where the disclosure rule hides a credit row's borrowers (the old flag when the table has no marks)."""
    column = "borrowers__hidden" if "borrowers__hidden" in rows.columns else "suppressed"
    return rows[column].fillna(True).astype(bool)


def _borrowers_cell(row: pd.Series, lang: str, min_cell: int) -> str:
    """A row's borrowers as published: the number, ``< limit`` (small) or ``–`` (hidden to protect another)."""
    if not bool(_credit_hidden(row.to_frame().T).iloc[0]):
        return _num(row["borrowers"], lang)
    return DASH if row.get("borrowers__reason") == "complement" else f"< {min_cell}"


def credit_table(ctx: CommuneContext, *, lang: str = "vi") -> HTML | None:
    """Loans, borrowers and amounts by year, with borrowers by programme, under the disclosure rule.

    Borrowers of a programme and of all programmes are one equation, protected with the
    province's; the loans and amount of a year are shown only where its borrowers are.
    """
    check_lang(lang)
    c = ctx.credit[ctx.credit["year"] <= ctx.review_year]
    if c.empty:
        return None
    years = sorted(c["year"].unique())
    less = f"< {ctx.min_cell}"
    data = {_t("year", lang): [str(y) for y in years]}
    total = c[c["programme"] == "all"].set_index("year").reindex(years)
    hide = _credit_hidden(total).to_numpy()
    data[_t("loans", lang)] = [DASH if s else _num(v, lang) for v, s in zip(total["loans"], hide)]
    data[_t("borrowers", lang)] = [_borrowers_cell(row, lang, ctx.min_cell) for _, row in total.iterrows()]
    data[_t("amount", lang)] = [DASH if s else _num(v / 1e6, lang) for v, s in zip(total["amount"], hide)]
    for prog in PROGRAMMES:
        rows = c[c["programme"] == prog].set_index("year").reindex(years)
        # a programme without loans that year is 0 borrowers: under the limit like any small count
        cells = [
            less if pd.isna(row["borrowers"]) else _borrowers_cell(row, lang, ctx.min_cell)
            for _, row in rows.iterrows()
        ]
        data[f"{_t('borrowers', lang)}: {_t('programme_' + prog, lang).lower()}"] = cells
    return _html_table(pd.DataFrame(data), note=_suppressed_note(ctx, lang))


def coverage_text(ctx: CommuneContext, *, lang: str = "vi") -> Markdown | None:
    """Coverage of eligible households and leakage of the loans of the latest loan year (None without targeting)."""
    check_lang(lang)
    t = ctx.extra.get("targeting")
    if not ctx.sections.get("targeting") or t is None:
        return None
    t = t[(t["programme"] == "all") & (t["loan_year"] <= ctx.review_year)]
    if t.empty:
        return Markdown("Chưa có năm cho vay nào để đánh giá." if lang == "vi" else "No loan year can be assessed yet.")
    row = t.sort_values("loan_year").iloc[-1]
    y, r = int(row["loan_year"]), int(row["review_year"])
    if row["suppressed"]:
        return Markdown(
            f"Năm {y}: số hộ đủ điều kiện hoặc số khoản vay dưới ngưỡng công bố."
            if lang == "vi"
            else f"{y}: too few eligible households or loans to publish."
        )
    if row["loans"] == 0:
        return Markdown(
            f"Năm {y} không có khoản vay nào; {_num(row['eligible'], lang)} hộ đủ điều kiện theo kết quả "
            f"rà soát năm {r} chưa được vay."
            if lang == "vi"
            else f"No loans in {y}; none of the {_num(row['eligible'], lang)} households eligible at the {r} "
            "review was reached."
        )
    cell = {c: _targeting_cell(row, c, lang, ctx.min_cell) for c in _TARGETING_CELLS}
    if lang == "vi":
        text = f"Năm {y}, "
        if cell["eligible"] is None:
            text += f"số hộ đủ điều kiện theo kết quả rà soát năm {r} không công bố."
        elif cell["reached"] is None:
            text += (
                f"số hộ được vay trong {cell['eligible']} hộ đủ điều kiện theo kết quả rà soát năm {r} không công bố."
            )
        else:
            text += (
                f"vốn vay đến được {cell['reached']} trong số {cell['eligible']} hộ đủ điều kiện theo kết quả rà soát "
                f"năm {r}" + (f" (độ bao phủ {cell['coverage']})." if cell["coverage"] else ".")
            )
        if cell["loans"] is not None and cell["inclusion_errors"] is not None:
            share = f" ({cell['inclusion_share']})" if cell["inclusion_share"] else ""
            text += (
                f" {cell['inclusion_errors'][:1].upper() + cell['inclusion_errors'][1:]} trong {cell['loans']} khoản "
                f"vay{share} đến hộ không thuộc diện được vay (sai lệch đối tượng)."
            )
    else:
        text = f"In {y}, "
        if cell["eligible"] is None:
            text += f"the number of households eligible at the {r} review is not published."
        elif cell["reached"] is None:
            text += (
                f"how many of the {cell['eligible']} households eligible at the {r} review got a loan is not published."
            )
        else:
            text += (
                f"loans reached {cell['reached']} of the {cell['eligible']} households eligible at the {r} review"
                + (f" (coverage {cell['coverage']})." if cell["coverage"] else ".")
            )
        if cell["loans"] is not None and cell["inclusion_errors"] is not None:
            share = f" ({cell['inclusion_share']})" if cell["inclusion_share"] else ""
            text += (
                f" {cell['inclusion_errors'][:1].upper() + cell['inclusion_errors'][1:]} of {cell['loans']} "
                f"loans{share} went to households eligible for no programme (leakage)."
            )
    return Markdown(text)


_TARGETING_CELLS = ("eligible", "reached", "coverage", "loans", "inclusion_errors", "inclusion_share")


def _targeting_cell(row: pd.Series, column: str, lang: str, min_cell: int) -> str | None:
    """One figure of the coverage sentence in words, as the disclosure rule publishes it (None: not published)."""
    value = row[column]
    rate = column in ("coverage", "inclusion_share")
    if f"{column}__hidden" not in row.index or not bool(row[f"{column}__hidden"]):
        return _pct(value, lang) if rate else _num(value, lang)
    if rate:
        band = row.get(f"{column}__band", np.nan)
        if band == band and band is not None:
            return _words(published.band_text(float(band), lang), lang)
        return None
    if row[f"{column}__reason"] == "complement":
        return None
    return _t("fewer_than", lang).format(n=min_cell)


def map_figure(ctx: CommuneContext, *, lang: str = "vi") -> go.Figure | None:
    """The province's poor rates at the review with the commune highlighted (None without the maps module)."""
    check_lang(lang)
    if not ctx.sections.get("map") or "boundaries" not in ctx.extra:
        return None
    return maps.choropleth(
        ctx.all_rates,
        "poor_rate",
        boundaries=literal_labels(ctx.extra["boundaries"], "name"),
        lang=lang,
        highlight=ctx.code,
        show_neighbours=True,
        suppressed_column="suppressed",
        tolerance=0,
    )


def _path_rows(ctx: CommuneContext) -> pd.DataFrame | None:
    t = ctx.extra.get("projections")
    if not ctx.sections.get("projections") or t is None:
        return None
    return t.sort_values("year")


def path_text(ctx: CommuneContext, *, lang: str = "vi") -> Markdown | None:
    """The commune's projected 2030 rate against its reference path: gap, chance, exits and credit needed.

    None without the projections module.  The projection, its model and the targets are
    those of the province notebook (:data:`povanalysis.reports.prepare.PROJECTION_SETTINGS`); the text names the model,
    says how it backtested, and calls the interval what it is: the range of the rate the
    review will record.
    """
    check_lang(lang)
    rows = _path_rows(ctx)
    if rows is None:
        return None
    vi = lang == "vi"
    if rows.empty or rows["target"].isna().all():
        return Markdown(
            f"{_name(ctx)} không thuộc diện mục tiêu nào của giai đoạn 2026–2030."
            if vi
            else f"No 2026–2030 target applies to {_name(ctx)}."
        )
    last = rows.iloc[-1]
    year = int(last["year"])
    if last["suppressed"]:
        return Markdown(
            f"Số hộ dưới ngưỡng công bố ({ctx.min_cell} hộ): không công bố dự báo."
            if vi
            else f"Fewer households than the publication limit ({ctx.min_cell}): no projection published."
        )
    store = ctx.extra.get("projection", {})
    target = store.get("targets", {}).get(last["target"])
    name = escape_markdown(target.label(lang) if target is not None else last["target"])
    shared = isinstance(last.get("rule"), str) and last["rule"].startswith(("proportional", "points"))
    model = store.get("backtest_text", {}).get(lang, "")
    level = format_number(100 * (1 - float(store.get("alpha", 0.05))), lang, digits=0)
    mean, lo, hi = (_pct(last[c], lang) for c in ("mean", "obs_ci_lower", "obs_ci_upper"))
    ref, gap = _pct(last["target_level"], lang), _points(last["gap"], lang)
    start = _start_level(ctx, float(last["start_level"]), lang)
    # a path from a small count gives it back through its level, the gap to it and the exits it takes
    small = start != _pct(float(last["start_level"]), lang)
    if small:
        ref = _t("not_published", lang)
    t0 = int(target.start_year) if target is not None else int(rows["year"].min()) - 1
    unconfirmed = target is not None and not target.confirmed
    if vi:
        text = f"Mục tiêu áp dụng cho {_name(ctx)}: {name}"
        text += " — chỉ tiêu chưa được xác nhận trong văn bản chính thức" if unconfirmed else ""
        if shared:
            text += (
                f". Đây là mục tiêu chung của toàn tỉnh, không phải chỉ tiêu riêng của xã: mức tham chiếu của xã "
                f"được chia theo cùng tỷ lệ giảm tương đối với toàn tỉnh, từ {start} năm {t0} "
                f"xuống mức tham chiếu năm {year} ({ref}), để các xã cộng lại đúng lộ trình của tỉnh"
            )
        text += "."
        if bool(last.get("already_met", False)):
            return Markdown(
                text + f" Tỷ lệ hộ nghèo của xã ({start}) đã ở mức sàn của mục tiêu: đã đạt, không cần "
                "thêm hộ thoát nghèo hay vốn vay để đạt mục tiêu."
            )
        if last.get("attainable") is False:
            text += " Lộ trình này chạm mức sàn trước năm kết thúc, nên không thể đạt đầy đủ như đã viết."
        if _rebased(ctx, store):
            text += (
                " Trên biểu đồ dưới đây, lịch sử được quy đổi về chuẩn mới (chuẩn nghèo 2026–2030) nên khác tỷ lệ "
                "đã công bố theo chuẩn của từng kỳ ở biểu đồ phía trên; tỷ lệ đã công bố được vẽ kèm để so sánh."
            )
        text += (
            f" {model} Tỷ lệ hộ nghèo dự báo năm {year} (theo chuẩn nghèo 2026–2030) là {mean}; khoảng dự báo "
            f"{level}% cho tỷ lệ sẽ ghi nhận ở kỳ rà soát năm đó: {lo} – {hi}."
            + (
                ""
                if small
                else f" So với mức tham chiếu {ref}: "
                + (f"cao hơn {gap} điểm phần trăm" if last["gap"] > 0 else f"thấp hơn {gap} điểm phần trăm")
                + "."
            )
            + f" Xác suất kỳ rà soát năm {year} ghi nhận mức không vượt tham chiếu: "
            f"{format_percent(float(last['p_meet']), lang, digits=0)}."
        )
        per_year = float(last["exits_per_year"])
        if per_year >= 0.5 and not small:
            text += (
                f" Để theo lộ trình, số hộ nghèo cần giảm bình quân khoảng {_num(per_year, lang)} hộ mỗi năm từ "
                f"{t0} đến {year}."
            )
        if last["additional_exits"] >= 0.5 and not small:
            credit = last.get("credit_vnd")
            text += (
                f" Đến năm {year}, cần thêm khoảng {_num(float(last['additional_exits']), lang)} hộ thoát nghèo so "
                "với dự báo"
            )
            if credit is not None and pd.notna(credit):
                text += f", tương ứng khoảng {_num(credit / 1e9, lang, digits=1)} tỷ đồng vốn vay chính sách."
            elif str(store.get("credit_cost_missing") or "").startswith(NOT_POSITIVE):
                text += (
                    "; chưa ước tính được số vốn vay chính sách tương ứng vì tác động ước lượng của vốn vay lên "
                    "thoát nghèo không lớn hơn 0, nên không tính được chi phí cho mỗi hộ thoát nghèo."
                )
            elif store.get("credit_cost_missing"):
                text += (
                    "; chưa ước tính được số vốn vay chính sách tương ứng vì số liệu tín dụng không đủ để tính "
                    "chi phí cho mỗi hộ thoát nghèo."
                )
            else:
                text += "."
    else:
        text = f"Target for {_name(ctx)}: {name}" + (" — not confirmed in an official text" if unconfirmed else "")
        if shared:
            text += (
                f". This is a province-wide target, not one set for the commune: the commune's reference path "
                f"falls by the province's relative fall, from {start} in {t0} "
                f"to its reference level in {year} ({ref}), so that the communes add up to the province path"
            )
        text += "."
        if bool(last.get("already_met", False)):
            return Markdown(
                text + f" The commune's rate ({start}) is already at the target's floor: met, with no "
                "further exits or credit needed for it."
            )
        if last.get("attainable") is False:
            text += " The path reaches its floor before the end year, so it cannot be met in full as written."
        if _rebased(ctx, store):
            text += (
                " In the chart below the history is rebased to the new standard (2026–2030), so it differs from the "
                "rates the reviews published under the standard of their time (the chart above); those are drawn "
                "beside it for comparison."
            )
        text += (
            f" {model} The projected poor-household rate in {year} (2026–2030 standard) is {mean}; {level}% "
            f"prediction interval of the rate that year's review will record: {lo} – {hi}."
            + (
                ""
                if small
                else f" Against the reference level of {ref}: "
                + (f"{gap} points above" if last["gap"] > 0 else f"{gap} points below")
                + "."
            )
            + f" Probability that the {year} review records a rate at or below the reference: "
            f"{format_percent(float(last['p_meet']), lang, digits=0)}."
        )
        per_year = float(last["exits_per_year"])
        if per_year >= 0.5 and not small:
            text += (
                f" Following the path takes about {_num(per_year, lang)} fewer poor households a year on average "
                f"from {t0} to {year}."
            )
        if last["additional_exits"] >= 0.5 and not small:
            credit = last.get("credit_vnd")
            text += f" By {year}, about {_num(float(last['additional_exits']), lang)} more households than projected must leave poverty"
            if credit is not None and pd.notna(credit):
                text += f", about {_num(credit / 1e9, lang, digits=1)} billion VND of policy credit."
            elif str(store.get("credit_cost_missing") or "").startswith(NOT_POSITIVE):
                text += (
                    "; the policy credit this takes could not be estimated, as the estimated effect of credit on "
                    "leaving poverty is not above zero, so there is no cost per household leaving poverty."
                )
            elif store.get("credit_cost_missing"):
                text += (
                    "; the policy credit this takes could not be estimated, as the credit data do not allow a "
                    "cost per household leaving poverty."
                )
            else:
                text += "."
    return Markdown(text)


def _rebased(ctx: CommuneContext, store: dict) -> bool:
    """Whether the fan chart's history is on another standard than the rates the reviews published.

    Brought to the projection's standard (``basis``), or classified under it from the start
    while the page's other charts show each review under the standard of its time.
    """
    projection = store.get("projection")
    if projection is None:
        return False
    if projection.basis != "as_classified":
        return True
    af = ctx.af
    if len(af) and "standard" in af.columns:
        now = af.loc[af["review_year"] == ctx.review_year, "standard"]
        return bool(len(now)) and str(now.iloc[0]) != str(projection.standard)
    return False


def _start_level(ctx: CommuneContext, rate: float, lang: str) -> str:
    """The commune's rate a path starts from: a band when its poor households (rate × households) are under the limit."""
    households = float(ctx.current()["households"])
    poor = round(rate * households)
    if 0 < poor < ctx.min_cell:
        band = rate_band(households, ctx.min_cell)
        if band != band:
            return _t("not_published", lang)
        return _words(published.band_text(band, lang), lang)
    return _pct(rate, lang)


def path_figure(ctx: CommuneContext, *, lang: str = "vi") -> go.Figure | None:
    """Fan chart of the commune's projected rate against its target path (None without projections or when suppressed)."""
    check_lang(lang)
    rows = _path_rows(ctx)
    if rows is None or rows.empty or rows["target"].isna().all() or bool(rows["suppressed"].iloc[-1]):
        return None
    store = ctx.extra["projection"]
    target = store["targets"].get(rows["target"].iloc[-1])
    projection, recorded = _fan_history(ctx, store["projection"])
    if rows["already_met"].iloc[-1] if "already_met" in rows.columns else False:
        fig = plot_fan_chart(projection, None, commune_code=ctx.code, recorded=recorded, lang=lang)
        return _literal_title(fig, ctx.name)
    # The commune's own reference path (a share of a province target is not the province's rule).
    t0 = int(target.start_year) if target is not None else int(rows["year"].min()) - 1
    path = pd.concat(
        [
            pd.DataFrame({"year": [t0], "target_level": [float(rows["start_level"].iloc[0])]}),
            rows[["year", "target_level"]],
        ],
        ignore_index=True,
    )
    start = float(rows["start_level"].iloc[0])
    if _start_level(ctx, start, lang) != _pct(start, lang):
        path = None  # a path from a small count gives it back (its level is a multiple of the start)
    fig = plot_fan_chart(projection, path, commune_code=ctx.code, recorded=recorded, lang=lang)
    return _literal_title(fig, ctx.name)


def _fan_history(ctx: CommuneContext, projection):
    """The projection with the commune's history cut to what the page may print, and its published rates.

    The history's points are rates printed to two decimals next to a known number of
    households: a point whose poor households (rate × households) are under the limit, or
    whose published rate the disclosure rule hides, is left out.  When the history is
    rebased to the new standard, the rates the reviews published (``recorded``, always passed:
    the chart draws them only when the history is restated) show beside it, so the chart says
    why it differs from the one above.
    """
    obs = projection.observed
    mine = obs["commune_code"] == ctx.code if "commune_code" in obs.columns else pd.Series(False, index=obs.index)
    hidden = set(ctx.rates.loc[ctx.rates["suppressed"] | _hidden(ctx.rates, "poor_rate"), "review_year"].astype(int))
    small = np.round(obs["rate"] * obs["households"]) < ctx.min_cell
    drop = mine & (small | obs["review_year"].astype(int).isin(hidden))
    if drop.any():
        projection = dataclasses.replace(projection, observed=obs[~drop].reset_index(drop=True))
    recorded = ctx.rates[["review_year", "poor_rate"]].assign(
        suppressed=ctx.rates["suppressed"] | _hidden(ctx.rates, "poor_rate")
    )
    return projection, recorded


def _literal_title(fig: go.Figure, name: str) -> go.Figure:
    """``fig`` with ``name`` escaped in its title (the fan chart names the unit from the registry)."""
    shown = escape_html(name)
    if shown != name and fig.layout.title.text:
        fig.layout.title.text = fig.layout.title.text.replace(name, shown)
    return fig


def risk_text(ctx: CommuneContext, *, lang: str = "vi") -> Markdown | None:
    """The number of newly escaped households at risk of falling back at the review (None without risk)."""
    check_lang(lang)
    t = ctx.extra.get("risk")
    if not ctx.sections.get("risk") or t is None:
        return None
    rows = t[t["review_year"] == ctx.review_year]
    if rows.empty:
        return Markdown(
            f"Chưa đánh giá được nguy cơ tái nghèo tại kỳ rà soát năm {ctx.review_year}."
            if lang == "vi"
            else f"No fall-back risk can be assessed at the {ctx.review_year} review."
        )
    row = rows.iloc[0]
    if row["suppressed"]:
        return Markdown(
            f"Số hộ mới thoát nghèo dưới ngưỡng công bố ({ctx.min_cell} hộ)."
            if lang == "vi"
            else f"Fewer newly escaped households than the publication limit ({ctx.min_cell})."
        )
    n, k = (_published_count(row, c, lang, ctx.min_cell) for c in ("households", "at_risk"))
    if n is None or k is None:
        return Markdown(
            f"Số hộ mới thoát nghèo có nguy cơ tái nghèo tại kỳ rà soát năm {ctx.review_year} không công bố, để không "
            "suy ra được số liệu khác."
            if lang == "vi"
            else f"The number of newly escaped households at risk at the {ctx.review_year} review is not published, so "
            "that no other figure can be worked out from it."
        )
    p = format_percent(float(row["threshold"]), lang, digits=0)
    if lang == "vi":
        text = (
            f"Trong {n} hộ mới thoát nghèo tại kỳ rà soát năm {ctx.review_year}, {k} hộ có nguy cơ tái nghèo "
            f"ở kỳ rà soát sau (xác suất dự báo từ {p} trở lên). Danh sách hộ cụ thể không công bố trong báo cáo này."
        )
    else:
        text = (
            f"Of the {n} households newly out of poverty at the {ctx.review_year} review, {k} are at risk of "
            f"falling back by the next review (predicted probability of at least {p}). The households are not "
            "listed in this report."
        )
    return Markdown(text)


# ----------------------------------------------------------------------------- lasting exits and villages


def exits_text(ctx: CommuneContext, *, lang: str = "vi") -> Markdown:
    """How many households left poverty and how many were still out one and two reviews later, with intervals.

    :func:`povanalysis.reports.prose.exits.exits_text` on the commune's prepared exits, under the
    publication limit; a commune with no exit yet says so.
    """
    check_lang(lang)
    ex = ctx.exits
    if ex is None:
        return Markdown(
            f"Chưa có hộ nghèo nào ở hai kỳ rà soát liên tiếp tại {_name(ctx)} đến năm {ctx.review_year}, nên chưa "
            "tính được số hộ thoát nghèo."
            if lang == "vi"
            else f"No household of {_name(ctx)} was poor at a review followed by another up to {ctx.review_year}: "
            "no exit from poverty can be counted yet."
        )
    text = prose_exits.exits_text(ex, "commune", ctx.code, lang=lang)
    # what "held" means, where a share is printed
    why = (
        " Hộ thoát nghèo bền vững là hộ không tái nghèo ở các kỳ rà soát sau; tỷ lệ tính trên tổng số hộ thoát "
        "nghèo, hộ không còn trong danh sách rà soát được tính là không giữ được."
        if lang == "vi"
        else " An exit holds when the household is not poor again at the later reviews; shares are of all the "
        "exits, a household no longer on the review lists counted as not held."
    )
    return Markdown(text + why if "%" in text else text)


def exits_figure(ctx: CommuneContext, *, lang: str = "vi") -> go.Figure | None:
    """Bars of the exits of each year and of the households still out later (None without exits)."""
    check_lang(lang)
    ex = ctx.exits
    if ex is None:
        return None
    fig = plot_exits(ex, "commune", ctx.code, lang=lang)
    # the figure names the unit as Markdown does (backslashes): a chart title shows it HTML-escaped
    named = prose_exits.unit_name("commune", ctx.code, lang)
    fig.layout.title.text = fig.layout.title.text.replace(named, escape_html(ctx.name), 1)
    fig.update_layout(height=380)
    return fig


def exits_table(ctx: CommuneContext, *, lang: str = "vi") -> HTML | None:
    """The exits of each year, and how many were still out one and two reviews later, as published (None without exits)."""
    check_lang(lang)
    ex = ctx.exits
    if ex is None:
        return None
    return _html_table(prose_exits.exits_table(ex, "commune", ctx.code, lang=lang), note=_suppressed_note(ctx, lang))


def _village_rows(ctx: CommuneContext) -> pd.DataFrame | None:
    """The commune's rows of the prepared village table (villages and the commune's total), None without villages."""
    rows = ctx.extra.get("villages")
    if not ctx.sections.get("villages") or rows is None or (rows["village_code"] == published.ALL).all():
        return None
    return rows


def villages_text(ctx: CommuneContext, *, lang: str = "vi") -> Markdown:
    """What the village table shows, or the one sentence saying the data carry no villages."""
    check_lang(lang)
    rows = _village_rows(ctx)
    if rows is None:
        return Markdown(
            "Số liệu rà soát không ghi thôn, tổ dân phố của hộ, nên không lập được bảng theo thôn."
            if lang == "vi"
            else "The review records do not carry the households' villages, so there is no table by village."
        )
    year = int(rows["review_year"].iloc[0])
    if year != ctx.review_year:
        return Markdown(
            f"Bảng theo thôn, tổ dân phố chỉ có cho kỳ rà soát năm {year}, kỳ đánh giá nguy cơ tái nghèo."
            if lang == "vi"
            else f"The table by village is made for the {year} review only, where the risk of falling back is assessed."
        )
    return Markdown(
        f"Số hộ, số hộ mới thoát nghèo và số hộ có nguy cơ tái nghèo cao ở từng thôn, tổ dân phố tại kỳ rà soát năm "
        f"{year}, để cán bộ được giao theo dõi biết nơi cần đến trước. Danh sách hộ cụ thể chỉ gửi cán bộ theo dõi, "
        "không công bố trong báo cáo này."
        if lang == "vi"
        else f"Households, newly escaped households and those at high risk of falling back in each village at the "
        f"{year} review, so that the officials who follow them up know where to go first. The households are listed "
        "only for those officials, not in this report."
    )


def village_table(ctx: CommuneContext, *, lang: str = "vi") -> HTML | None:
    """Households, newly escaped and at high risk by village, small counts shown as ``< 10`` (None without villages).

    The villages and the commune's total are one decision of the disclosure rule with every
    commune's and the province's (:data:`povanalysis.reports.grassroots.VILLAGES`), the one the
    risk section prints from.
    """
    check_lang(lang)
    rows = _village_rows(ctx)
    if rows is None or int(rows["review_year"].iloc[0]) != ctx.review_year:
        return None
    p = published.restore(rows, grassroots.VILLAGES, min_cell=ctx.min_cell)
    names = rows.loc[rows["village_code"] != published.ALL, ["village_code", "village_name"]]
    table = followup.village_table(p, names, lang=lang)
    return _html_table(table, note=p.note(lang))
