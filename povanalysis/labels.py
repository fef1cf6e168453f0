"""Vietnamese and English labels for every figure, table and report."""

from __future__ import annotations

from types import MappingProxyType

__all__ = ["LANGS", "label", "pick", "check_lang", "format_percent", "format_number"]

LANGS: tuple[str, ...] = ("vi", "en")

_LABELS = MappingProxyType({
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
    "M0": ("Chỉ số nghèo đa chiều (M0)", "Adjusted headcount ratio (M0)"),
    "H": ("Tỷ lệ nghèo đa chiều (H)", "Multidimensional headcount (H)"),
    "A": ("Cường độ thiếu hụt (A)", "Intensity (A)"),
    "hd": ("Tỷ lệ thiếu hụt (chưa kiểm duyệt)", "Uncensored headcount"),
    "hdk": ("Tỷ lệ nghèo và thiếu hụt (đã kiểm duyệt)", "Censored headcount"),
    "pctb": ("Đóng góp (%)", "Contribution (%)"),
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
})


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


def pick(table, key: str, lang: str) -> str:
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
    """
    i = LANGS.index(check_lang(lang))
    if key in _LABELS:
        return _LABELS[key][i]
    if key.startswith("d_"):
        from .standards import STANDARDS

        for std in STANDARDS.values():
            for ind in std.indicators:
                if ind.column == key:
                    return ind.name_vi if lang == "vi" else ind.name_en
    return key


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
