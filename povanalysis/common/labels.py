"""Vietnamese and English labels for every figure, table and report."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from ..measure.standards import Standard

__all__ = [
    "LANGS",
    "AF_MEASURES",
    "label",
    "af_label",
    "af_cutoff",
    "glossary",
    "pick",
    "check_lang",
    "format_percent",
    "format_number",
]

LANGS: tuple[str, ...] = ("vi", "en")

_LABELS = MappingProxyType(
    {
        "poor": ("Hộ nghèo", "Poor households"),
        "near_poor": ("Hộ cận nghèo", "Near-poor households"),
        "average_living": ("Hộ có mức sống trung bình", "Average living standard"),
        "not_poor": ("Hộ không nghèo", "Not poor"),
        "poor_rate": ("Tỷ lệ hộ nghèo", "Poor-household rate"),
        "near_poor_rate": ("Tỷ lệ hộ cận nghèo", "Near-poor-household rate"),
        "households": ("Số hộ", "Households"),
        "persons": ("Số nhân khẩu", "Persons"),
        "review_year": ("Năm rà soát", "Review year"),
        "commune": ("Xã, phường", "Commune or ward"),
        "commune_code": ("Mã xã", "Commune code"),
        "province": ("Toàn tỉnh", "Province"),
        "thai_nguyen": ("Địa bàn Thái Nguyên cũ", "Old Thai Nguyen area"),
        "bac_kan": ("Địa bàn Bắc Kạn cũ", "Old Bac Kan area"),
        "old_area": ("Địa bàn cũ", "Pre-2025 province"),
        "minority": ("Hộ dân tộc thiểu số", "Ethnic-minority households"),
        "majority": ("Hộ dân tộc Kinh", "Kinh households"),
        "minority_share_of_poor": ("Tỷ lệ hộ DTTS trong hộ nghèo", "Ethnic-minority share of poor households"),
        "ethnicity": ("Dân tộc", "Ethnicity"),
        "rural": ("Nông thôn", "Rural"),
        "urban": ("Thành thị", "Urban"),
        "area": ("Khu vực", "Area"),
        "hd": ("Tỷ lệ thiếu hụt (mọi hộ)", "Uncensored headcount (all households)"),
        "FGT0": ("Tỷ lệ thu nhập dưới chuẩn (FGT0)", "Income headcount (FGT0)"),
        "FGT1": ("Độ sâu nghèo (FGT1)", "Poverty gap (FGT1)"),
        "FGT2": ("Mức độ nghiêm trọng (FGT2)", "Poverty severity (FGT2)"),
        "indicator": ("Chỉ số thiếu hụt", "Deprivation indicator"),
        "share": ("Tỷ lệ", "Share"),
        "percent": ("%", "%"),
        "suppressed": ("Không công bố (dưới ngưỡng số hộ)", "Suppressed (too few households)"),
        "source_synthetic": ("Dữ liệu mô phỏng, không phải số liệu chính thức", "Synthetic data, not official figures"),
        "loans": ("Khoản vay", "Loans"),
        "borrowers": ("Hộ vay vốn", "Borrowing households"),
        "amount": ("Dư nợ giải ngân (triệu đồng)", "Amount disbursed (million VND)"),
    }
)

#: Alkire–Foster measures that depend on the cutoff k: code → ((vi name, vi tag), (en name, en tag)).
#: Their labels name the method, so that none reads as the official poor-household rate.
_AF = MappingProxyType(
    {
        "H": (("Tỷ lệ hộ thiếu hụt đa chiều H", "AF"), ("Alkire–Foster multidimensional headcount H", "")),
        "A": (("Cường độ thiếu hụt A", "AF"), ("Alkire–Foster intensity A", "")),
        "M0": (("Chỉ số M0", "AF"), ("Alkire–Foster adjusted headcount ratio M0", "")),
        "hdk": (
            ("Tỷ lệ thiếu hụt của hộ nghèo đa chiều hdk", "AF"),
            ("Alkire–Foster censored headcount hdk", ""),
        ),
        "pctb": (("Đóng góp vào M0", "%, AF"), ("Contribution to M0", "%, Alkire–Foster")),
    }
)
#: Codes of the Alkire–Foster measures whose labels carry the cutoff k.
AF_MEASURES: tuple[str, ...] = tuple(_AF)


def check_lang(lang: str) -> str:
    """Return ``lang`` if it is a supported language, else raise naming the value.

    Examples
    --------
    >>> check_lang("vi")
    'vi'
    """
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")
    return lang


def pick(table: Mapping[str, tuple[str, str]], key: str, lang: str) -> str:
    """The ``lang`` entry of ``table[key]``, a ``(vi, en)`` pair: how modules read their own text tables.

    Examples
    --------
    >>> pick({"title": ("Bản đồ", "Map")}, "title", "en")
    'Map'
    """
    return table[key][LANGS.index(check_lang(lang))]


def label(key: str, lang: str = "vi") -> str:
    """The label of ``key`` in ``lang``; indicators of a standard use their own names.

    Examples
    --------
    >>> label("poor_rate"), label("poor_rate", "en")
    ('Tỷ lệ hộ nghèo', 'Poor-household rate')
    >>> label("d_water")
    'Nguồn nước sinh hoạt'
    >>> label("H")
    'Tỷ lệ hộ thiếu hụt đa chiều H (AF)'
    """
    i = LANGS.index(check_lang(lang))
    if key in _LABELS:
        return _LABELS[key][i]
    if key in _AF:
        return af_label(key, lang)
    if key.startswith("d_"):
        from ..measure.standards import STANDARDS

        for std in STANDARDS.values():
            for ind in std.indicators:
                if ind.column == key:
                    return ind.name_vi if lang == "vi" else ind.name_en
    return key


def _cutoff_text(k: float, n_indicators: int | None, lang: str) -> str:
    """``3/12`` when ``k`` is a whole number of ``n_indicators`` equal weights, else k as a decimal."""
    if n_indicators:
        count = k * n_indicators
        if abs(count - round(count)) < 1e-9:
            return f"{round(count)}/{n_indicators}"
    text = f"{k:.4g}"
    return text.replace(".", ",") if lang == "vi" else text


def af_label(measure: str, lang: str = "vi", *, k: float | None = None, n_indicators: int | None = None) -> str:
    """The label of an Alkire–Foster measure, naming the method and, when known, the cutoff k.

    The Alkire–Foster headcount H counts units deprived in at least a share ``k`` of the
    weighted indicators, whatever their income; it is not the official poor-household rate
    (``label("poor_rate")``), which also requires income at or below the poverty line.

    Parameters
    ----------
    measure : {"H", "A", "M0", "hdk", "pctb"}
        Code of the measure in :func:`povanalysis.measure.indicators.alkire_foster`.
    lang : {"vi", "en"}
    k : float, optional
        The cutoff on the normalised scale (the ``k`` column of the measures' table).
    n_indicators : int, optional
        Number of equally weighted indicators: with it, k reads as a count (``3/12``).

    Returns
    -------
    str

    References
    ----------
    Alkire, S. and Foster, J. (2011). Counting and multidimensional poverty measurement.
    *Journal of Public Economics* 95(7–8): 476–487. doi:10.1016/j.jpubeco.2010.11.006

    Examples
    --------
    >>> af_label("H", k=0.25, n_indicators=12)
    'Tỷ lệ hộ thiếu hụt đa chiều H (AF, k = 3/12)'
    >>> af_label("H", "en", k=0.25, n_indicators=12)
    'Alkire–Foster multidimensional headcount H (k = 3/12)'
    >>> af_label("M0", k=1 / 3), af_label("A", "en")
    ('Chỉ số M0 (AF, k = 0,3333)', 'Alkire–Foster intensity A')
    """
    i = LANGS.index(check_lang(lang))
    if measure not in _AF:
        raise ValueError(f"measure must be one of {AF_MEASURES}, got {measure!r}")
    name, tag = _AF[measure][i]
    notes = [tag] if tag else []
    if k is not None:
        notes.append(f"k = {_cutoff_text(float(k), n_indicators, lang)}")
    return f"{name} ({', '.join(notes)})" if notes else name


def af_cutoff(af: pd.DataFrame) -> dict:
    """The cutoff ``k`` and the number of indicators of an Alkire–Foster table, as keywords of :func:`af_label`.

    ``k`` is the table's one value in its ``k`` column (both None when the column is
    missing, holds several values or the table mixes standards). The number of indicators
    is that of the table's ``standard`` when it has that column, else the number of
    indicators among its per-indicator rows (``hd``, ``hdk``, ``pctb``), else None.

    Examples
    --------
    >>> import pandas as pd
    >>> af = pd.DataFrame({"measure": ["H", "hd", "hd", "hd"], "indicator": [None, "a", "b", "c"],
    ...                    "value": [0.4, 0.5, 0.2, 0.3], "k": 1 / 3})
    >>> af_label("H", "en", **af_cutoff(af))
    'Alkire–Foster multidimensional headcount H (k = 1/3)'
    >>> af_cutoff(af.drop(columns="k"))
    {'k': None, 'n_indicators': None}
    """
    unknown = {"k": None, "n_indicators": None}
    if "k" not in af.columns:
        return unknown
    values = af["k"].dropna().unique()
    if len(values) != 1:
        return unknown
    n = None
    if "standard" in af.columns:
        keys = af["standard"].dropna().unique()
        if len(keys) != 1:
            return unknown
        from ..measure.standards import get_standard

        n = len(get_standard(keys[0]).indicators)
    elif "indicator" in af.columns:
        n = af.loc[af["measure"].isin(("hd", "hdk", "pctb")), "indicator"].dropna().nunique() or None
    return {"k": float(values[0]), "n_indicators": n}


def glossary(standard: str | Standard, lang: str = "vi", *, k: float | None = None) -> str:
    """Markdown defining the official poor-household rate and the Alkire–Foster H, A and M0, for reports.

    Parameters
    ----------
    standard : povanalysis.measure.standards.Standard
        The poverty standard whose indicators the measures use.
    lang : {"vi", "en"}
    k : float, optional
        The Alkire–Foster cutoff used (default ``standard.k``, that is the standard's own
        number of deprivations out of its indicators, equally weighted).

    Returns
    -------
    str
        A Markdown bullet list.

    References
    ----------
    Decree 07/2021/ND-CP, Art. 3 (and Decree 351/2025/ND-CP for 2026–2030); Alkire, S. and
    Foster, J. (2011), doi:10.1016/j.jpubeco.2010.11.006.

    Examples
    --------
    >>> from povanalysis.measure.standards import get_standard
    >>> print(glossary(get_standard("2022-2025"), "en").splitlines()[1])  # doctest: +ELLIPSIS
    - **Alkire–Foster multidimensional headcount H (k = 3/12)**: the share of households deprived in at least 3 of the 12 indicators, **whatever their income**...
    """
    check_lang(lang)
    n = len(standard.indicators)
    k = standard.k if k is None else float(k)
    cut = _cutoff_text(k, n, lang)
    rate, h, a, m0 = label("poor_rate", lang), *(af_label(m, lang, k=k, n_indicators=n) for m in ("H", "A", "M0"))
    decree = standard.label_vi if lang == "vi" else standard.label_en
    decree = decree[0].lower() + decree[1:]
    # With k at most the standard's own count, every poor household is counted in H.
    superset = k * n <= standard.min_deprivations + 1e-9
    if lang == "vi":
        deprived = (
            f"thiếu hụt từ {cut.replace('/', ' trong ')} chỉ số trở lên"
            if "/" in cut
            else f"có điểm thiếu hụt từ k = {cut} trở lên"
        )
        compare = (
            "Vì không xét thu nhập, H không bao giờ thấp hơn tỷ lệ hộ nghèo và thường cao hơn nhiều; "
            if superset
            else ""
        )
        return "\n".join(
            [
                f"- **{rate}** (số liệu chính thức): tỷ lệ hộ có thu nhập bình quân đầu người/tháng không quá chuẩn "
                f"nghèo về thu nhập của khu vực (nông thôn, thành thị) **và** thiếu hụt từ {standard.min_deprivations} "
                f"trong {n} chỉ số trở lên, theo {decree}. Đây là tỷ lệ dùng cho các mục tiêu giảm nghèo.",
                f"- **{h}**: tỷ lệ hộ {deprived}, **bất kể thu nhập**. {compare}H **không phải là tỷ lệ hộ nghèo**.",
                f"- **{a}**: bình quân tỷ lệ chỉ số bị thiếu hụt của các hộ được tính trong H.",
                f"- **{m0}** = H × A: tỷ lệ H điều chỉnh theo cường độ thiếu hụt (Alkire và Foster, 2011).",
            ]
        )
    deprived = (
        f"deprived in at least {cut.replace('/', ' of the ')} indicators"
        if "/" in cut
        else f"with a deprivation score of at least k = {cut}"
    )
    compare = (
        "As income is not considered, H is never below the poor-household rate and usually much higher; "
        if superset
        else ""
    )
    return "\n".join(
        [
            f"- **{rate}** (official statistic): the share of households whose monthly income per person is at or "
            f"below the income poverty line of their area (rural or urban) **and** who are deprived in at least "
            f"{standard.min_deprivations} of the {n} indicators, under the {decree}. This is the rate the "
            f"poverty-reduction targets use.",
            f"- **{h}**: the share of households {deprived}, **whatever their income**. {compare}"
            f"H **is not the poverty rate**.",
            f"- **{a}**: the average share of indicators in which the households counted in H are deprived.",
            f"- **{m0}** = H × A: H adjusted for the intensity of deprivation (Alkire and Foster, 2011).",
        ]
    )


def format_percent(value: float, lang: str = "vi", *, digits: int = 2) -> str:
    """A share in [0, 1] as a percentage, with the decimal comma in Vietnamese.

    Examples
    --------
    >>> format_percent(0.0546), format_percent(0.0546, "en")
    ('5,46%', '5.46%')
    """
    if value != value:  # NaN
        return "–"
    text = f"{100 * value:.{digits}f}%"
    return text.replace(".", ",") if check_lang(lang) == "vi" else text


def format_number(value: float, lang: str = "vi", *, digits: int = 0) -> str:
    """A number with thousands separators: ``42.903`` in Vietnamese, ``42,903`` in English.

    Examples
    --------
    >>> format_number(42903), format_number(42903, "en")
    ('42.903', '42,903')
    """
    if value != value:
        return "–"
    text = f"{value:,.{digits}f}"
    if check_lang(lang) == "vi":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text
