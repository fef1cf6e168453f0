"""The officials' follow-up lists: per commune, a confidential workbook of newly escaped households by village, ranked by risk.

A commune's officials follow up the households that left the lists, village by village: who
is most likely to fall back at the next review (:class:`povanalysis.targeting.risk.FallbackModel`),
why in words (deprivations, distance above the line, change of income, VBSP loan), and room to
note who visits and when.  The workbooks name households: they follow the rules of
:func:`povanalysis.targeting.risk.confidential_export` (name with ``CONFIDENTIAL``, the mark on
every sheet, owner-only file, never in a published folder).  What may be published is the
count of households by village under the disclosure rule (:func:`village_counts`).
"""

from __future__ import annotations

import heapq
import io
import numbers
import os
import re
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from ..common.checks import require_frame, to_python
from ..common.labels import check_lang, label
from ..common.safe import neutralise_formula
from ..data import registry
from ..data.schema import VILLAGE_COLUMNS
from ..measure.standards import get_standard
from ..reports.disclosure import Layout, Protected, protect
from .confidential import check_confidential_target, write_owner_only
from .risk import CONFIDENTIAL_MARK, DEFAULT_RISK_THRESHOLD, RULE_OF_THUMB_MARGIN, ConfidentialFile

__all__ = [
    "UNKNOWN_VILLAGE",
    "SHEET_TITLE_MAX",
    "SUMMARY_SHEET",
    "followup_lists",
    "reasons",
    "sheet_titles",
    "assign_officials",
    "write_followup_workbook",
    "write_followup_workbooks",
    "village_layout",
    "village_counts",
    "village_table",
]

#: The village of households whose village is not known (a file without villages).
UNKNOWN_VILLAGE = ("", "Chưa rõ thôn, tổ dân phố")

#: Excel's limit on the length of a sheet name.
SHEET_TITLE_MAX = 31
#: The first sheet of every workbook: the villages, their counts and officials.
SUMMARY_SHEET = "Tổng hợp"

_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
_PROGRAMME_VI = {"poor": "hộ nghèo", "near_poor": "hộ cận nghèo", "newly_escaped": "hộ mới thoát nghèo"}
_NOTICE = (
    f"{CONFIDENTIAL_MARK}: danh sách hộ cần theo dõi, có nguy cơ tái nghèo — chỉ dành cho cán bộ được giao theo dõi — "
    "không công bố và không chia sẻ / households to follow up, at risk of falling back into poverty — for the "
    "assigned officials only — do not publish or share"
)
_HEADERS = (
    "Thứ tự ưu tiên",
    "Mã hộ",
    "Nguy cơ tái nghèo (%)",
    "Mức nguy cơ",
    "Lý do",
    "Cán bộ theo dõi",
    "Ngày thăm hộ",
    "Kết quả, ghi chú",
)
_WIDTHS = (10, 14, 12, 12, 90, 22, 14, 30)
_HEADER_ROW = 5  # the notice, the commune and village, the official, a blank row, then the header


# ----------------------------------------------------------------------------- the lists


def _active_loans(keys: pd.DataFrame, loans: pd.DataFrame) -> pd.DataFrame:
    """For each (household_id, review_year): the latest loan held at the end of the year, or the latest before it."""
    require_frame(loans, "loans", ["household_id", "programme", "disbursed", "term_months"])
    d = pd.to_datetime(loans["disbursed"])
    ln = pd.DataFrame(
        {
            "household_id": loans["household_id"].astype(str).to_numpy(),
            "programme": loans["programme"].astype(str).to_numpy(),
            "start": (d.dt.year * 12 + d.dt.month - 1).to_numpy(),
            "term": loans["term_months"].to_numpy(dtype=np.int64),
        }
    )
    m = keys.merge(ln, on="household_id", how="inner")
    month = m["review_year"].to_numpy() * 12 + 11
    m = m[m["start"].to_numpy() <= month].copy()
    m["active"] = (m["start"] + m["term"]).to_numpy() > m["review_year"].to_numpy() * 12 + 11
    m = m.sort_values(["household_id", "review_year", "active", "start"], kind="stable")
    return m.drop_duplicates(["household_id", "review_year"], keep="last")


def reasons(
    probability: float,
    income_ratio: float,
    income_change: float,
    deprivations: Sequence[str],
    loan: tuple[bool, str, int] | None,
    *,
    threshold: float = DEFAULT_RISK_THRESHOLD,
) -> str:
    """Why a household is on the follow-up list, in Vietnamese: distance above the line, change of income, deprivations, loan.

    Parameters
    ----------
    probability : float
        Its probability of falling back at the next review.
    income_ratio : float
        Income per person over the income line of its area (1.08: 8% above the line).
    income_change : float
        Change of log income since its previous review (NaN when unknown).
    deprivations : sequence of str
        The deprivation columns (``d_water``…) it is deprived in, under its review's standard.
    loan : (bool, str, int) or None
        ``(held at the review, programme, month index year×12 + month − 1 of disbursement)`` of
        its latest VBSP loan, or None when it never borrowed.
    threshold : float
        From this probability the risk is "high".

    Examples
    --------
    >>> reasons(0.41, 1.06, -0.2, ["d_water", "d_health_insurance"], (True, "newly_escaped", 2024 * 12 + 2))
    'Nguy cơ cao (41%). Thu nhập bình quân đầu người chỉ cao hơn chuẩn nghèo 6% (sát chuẩn); thu nhập giảm 18% so với lần rà soát trước; thiếu hụt 2 chỉ số: Nguồn nước sinh hoạt, Bảo hiểm y tế; đang vay vốn NHCSXH (chương trình hộ mới thoát nghèo, giải ngân 03/2024).'
    >>> reasons(0.1, 1.5, float("nan"), [], None)
    'Nguy cơ thấp hơn (10%). Thu nhập bình quân đầu người cao hơn chuẩn nghèo 50%; không thiếu hụt chỉ số nào; chưa vay vốn NHCSXH.'
    """
    level = "Nguy cơ cao" if probability >= threshold else "Nguy cơ thấp hơn"
    pct = round(100 * max(income_ratio - 1, 0.0))  # whole percent, as written
    if pct <= 100 * RULE_OF_THUMB_MARGIN:
        parts = [f"Thu nhập bình quân đầu người chỉ cao hơn chuẩn nghèo {pct}% (sát chuẩn)"]
    else:
        parts = [f"Thu nhập bình quân đầu người cao hơn chuẩn nghèo {pct}%"]
    if income_change == income_change:
        change = float(np.expm1(income_change))
        if change <= -0.05:
            parts.append(f"thu nhập giảm {-change:.0%} so với lần rà soát trước")
        elif change >= 0.05:
            parts.append(f"thu nhập tăng {change:.0%} so với lần rà soát trước")
        else:
            parts.append("thu nhập gần như không đổi so với lần rà soát trước")
    if deprivations:
        names = ", ".join(label(d, "vi") for d in deprivations)
        parts.append(f"thiếu hụt {len(deprivations)} chỉ số: {names}")
    else:
        parts.append("không thiếu hụt chỉ số nào")
    if loan is None:
        parts.append("chưa vay vốn NHCSXH")
    else:
        held, programme, start = loan
        when = f"{start % 12 + 1:02d}/{start // 12}"
        what = f"chương trình {_PROGRAMME_VI.get(programme, programme)}, giải ngân {when}"
        parts.append(f"đang vay vốn NHCSXH ({what})" if held else f"khoản vay NHCSXH đã hết hạn ({what})")
    text = "; ".join(parts)
    return f"{level} ({probability:.0%}). {text}."


def _natural(name: str) -> str:
    """A sort key that puts numbers in their order: "tổ dân phố 000002" before "tổ dân phố 000010"."""
    return re.sub(r"\d+", lambda m: m.group().zfill(6), unicodedata.normalize("NFC", name).casefold())


def _check_threshold(threshold) -> float:
    ok = isinstance(threshold, numbers.Real) and not isinstance(threshold, bool)
    if not ok or not 0 < threshold <= 1:
        raise ValueError(f"'threshold' must be in (0, 1], got {threshold!r}")
    return float(threshold)


def followup_lists(
    scores: pd.DataFrame,
    classified: pd.DataFrame,
    *,
    villages: pd.DataFrame | None = None,
    loans: pd.DataFrame | None = None,
    threshold: float = DEFAULT_RISK_THRESHOLD,
) -> pd.DataFrame:
    """The follow-up list: every scored household with its village, rank in the village and reason in words.

    **Internal**: the frame holds household identifiers; hand it to officials only through
    :func:`write_followup_workbook`.

    Parameters
    ----------
    scores : DataFrame
        From :meth:`povanalysis.targeting.risk.FallbackModel.score`: ``household_id``,
        ``review_year``, ``commune_code``, ``log_income_ratio``, ``income_change``, ``probability``.
    classified : DataFrame
        The classified panel (``household_id``, ``review_year``, ``standard`` and the
        deprivation columns), for the deprivations of each household at its review.
    villages : DataFrame, optional
        ``household_id``, ``village_code``, ``village_name`` (:func:`povanalysis.data.villages.read_villages`);
        without it, or for a household it lacks, the village is :data:`UNKNOWN_VILLAGE`.
    loans : DataFrame, optional
        VBSP loans, for the loan status; without them the reason says nothing of loans.
    threshold : float
        From this probability a household is ``at_risk`` (high risk).

    Returns
    -------
    DataFrame
        ``commune_code``, ``commune_name``, ``village_code``, ``village_name``, ``rank``
        (1 = highest risk in the village), ``household_id``, ``review_year``, ``probability``,
        ``at_risk``, ``reason``; sorted by commune, village name (numbers in their order) and rank.
    """
    threshold = _check_threshold(threshold)
    need = ["household_id", "review_year", "commune_code", "log_income_ratio", "income_change", "probability"]
    require_frame(scores, "scores", need)
    require_frame(classified, "classified", ["household_id", "review_year", "standard"])
    keys = scores[["household_id", "review_year"]].astype({"household_id": str}).reset_index(drop=True)
    rows = classified.assign(household_id=classified["household_id"].astype(str))
    rows = keys.merge(rows, on=["household_id", "review_year"], how="left", validate="one_to_one")
    if rows["standard"].isna().any():
        i = int(np.flatnonzero(rows["standard"].isna().to_numpy())[0])
        raise ValueError(
            f"household {keys['household_id'].iloc[i]!r} of 'scores' has no row in 'classified' "
            f"at review {int(keys['review_year'].iloc[i])}"
        )
    deprived: list[list[str]] = [[] for _ in range(len(rows))]
    for key, group in rows.groupby("standard", sort=True):
        columns = get_standard(str(key)).columns
        flags = group[list(columns)].to_numpy(dtype=np.int8)
        for pos, row in zip(group.index, flags):
            deprived[pos] = [c for c, f in zip(columns, row) if f]
    loan_of: dict[tuple[str, int], tuple[bool, str, int]] = {}
    if loans is not None:
        held = _active_loans(keys, loans)
        loan_of = {
            (h, int(y)): (bool(a), p, int(s))
            for h, y, a, p, s in zip(
                held["household_id"], held["review_year"], held["active"], held["programme"], held["start"]
            )
        }
    p = scores["probability"].to_numpy(dtype=float)
    ratio = np.exp(scores["log_income_ratio"].to_numpy(dtype=float))
    change = scores["income_change"].to_numpy(dtype=float)
    text = [
        reasons(p[i], ratio[i], change[i], deprived[i], loan_of.get((h, int(y))), threshold=threshold)
        if loans is not None
        else reasons(p[i], ratio[i], change[i], deprived[i], None, threshold=threshold).replace(
            "; chưa vay vốn NHCSXH.", "."
        )
        for i, (h, y) in enumerate(zip(keys["household_id"], keys["review_year"]))
    ]
    names = registry.units().set_index("commune_code")["name"]
    out = pd.DataFrame(
        {
            "commune_code": scores["commune_code"].astype(str).to_numpy(),
            "household_id": keys["household_id"].to_numpy(),
            "review_year": keys["review_year"].to_numpy(),
            "probability": p,
            "at_risk": p >= threshold,
            "reason": text,
        }
    )
    out["commune_name"] = out["commune_code"].map(names).fillna("").to_numpy()
    code, name = UNKNOWN_VILLAGE
    if villages is not None:
        require_frame(villages, "villages", ["household_id", *VILLAGE_COLUMNS])
        one = villages.assign(household_id=villages["household_id"].astype(str)).drop_duplicates("household_id")
        one = one.set_index("household_id")
        out["village_code"] = out["household_id"].map(one["village_code"]).fillna(code).astype(str).to_numpy()
        out["village_name"] = out["household_id"].map(one["village_name"]).fillna(name).astype(str).to_numpy()
        out.loc[out["village_code"] == code, "village_name"] = name
    else:
        out["village_code"], out["village_name"] = code, name
    out["_order"] = out["village_name"].map(_natural)  # Tổ dân phố 2 before Tổ dân phố 10
    out = out.sort_values(
        ["commune_code", "_order", "village_code", "probability", "household_id"],
        ascending=[True, True, True, False, True],
        kind="stable",
    ).reset_index(drop=True)
    out["rank"] = out.groupby(["commune_code", "village_code"]).cumcount() + 1
    columns = ["commune_code", "commune_name", "village_code", "village_name", "rank", "household_id"]
    return out[[*columns, "review_year", "probability", "at_risk", "reason"]]


# ----------------------------------------------------------------------------- sheet names


def sheet_titles(names: Sequence[str], *, reserved: Sequence[str] = (SUMMARY_SHEET,)) -> list[str]:
    """Excel sheet titles for ``names``: the characters ``[]:*?/\\`` removed, at most 31 characters, distinct.

    Excel compares titles without case; a title taken (by an earlier name or by ``reserved``)
    gets `` (2)``, `` (3)``… within the 31 characters.  Diacritics are kept; a title may not
    start or end with an apostrophe, nor be "History" (reserved by Excel).

    Examples
    --------
    >>> sheet_titles(["Thôn Nà Pục", "Thôn Nà Pục", "Tổ dân phố: 3/4", "Xóm Đồng Tâm Thượng Hạ Cầu Đá Mới Xa"])
    ['Thôn Nà Pục', 'Thôn Nà Pục (2)', 'Tổ dân phố 34', 'Xóm Đồng Tâm Thượng Hạ Cầu Đá M']
    >>> sheet_titles(["tổng hợp"])
    ['tổng hợp (2)']
    """
    taken = {t.casefold() for t in reserved} | {"history"}
    out = []
    for name in names:
        text = unicodedata.normalize("NFC", str(name))  # one character per letter, as Excel counts
        base = " ".join(_FORBIDDEN.sub("", text).split()).strip("'").strip() or "Thôn"
        base = base[:SHEET_TITLE_MAX].rstrip().rstrip("'")
        title, k = base, 1
        while title.casefold() in taken:
            k += 1
            suffix = f" ({k})"
            title = base[: SHEET_TITLE_MAX - len(suffix)].rstrip().rstrip("'") + suffix
        taken.add(title.casefold())
        out.append(title)
    return out


# ----------------------------------------------------------------------------- officials


def assign_officials(caseload: pd.Series | Mapping[str, float], officials: Sequence[str] | int) -> pd.DataFrame:
    """Give each village to one official so that caseloads are balanced (longest processing time first).

    Villages are taken from the largest caseload down (ties by village code), each given to the
    official with the smallest caseload so far (ties in the order of ``officials``).  The result
    is within a proven bound of the best balance:

    - the largest caseload exceeds the smallest by at most the largest village's: when the
      official who ends with the largest caseload got its last village, its caseload was the
      smallest, and the others' only grew since;
    - the largest caseload is at most ``4/3 − 1/(3m)`` times that of the best assignment to
      ``m`` officials (Graham 1969).

    Parameters
    ----------
    caseload : Series or mapping
        Village code → its caseload (households at high risk, or any non-negative weight).
    officials : sequence of str or int
        The officials' names (distinct), or their number (named "Cán bộ 1", "Cán bộ 2"…).

    Returns
    -------
    DataFrame
        ``village_code``, ``official``, ``caseload``, in the order of the villages given, and
        ``attrs["caseloads"]``: the caseload of each official (a dict, every official listed).

    References
    ----------
    Graham, R. L. (1969). Bounds on multiprocessing timing anomalies. *SIAM Journal on Applied
    Mathematics* 17(2): 416–429. doi:10.1137/0117039

    Examples
    --------
    >>> a = assign_officials({"v1": 7, "v2": 5, "v3": 4, "v4": 3, "v5": 3}, ["An", "Bình"])
    >>> a.set_index("village_code")["official"].to_dict()
    {'v1': 'An', 'v2': 'Bình', 'v3': 'Bình', 'v4': 'An', 'v5': 'Bình'}
    >>> a.attrs["caseloads"]
    {'An': 10.0, 'Bình': 12.0}
    """
    if isinstance(officials, numbers.Integral) and not isinstance(officials, bool):
        if officials < 1:
            raise ValueError(f"'officials' must be at least 1, got {officials!r}")
        names = [f"Cán bộ {k}" for k in range(1, int(officials) + 1)]
    elif isinstance(officials, Sequence) and not isinstance(officials, str):
        names = [str(o) for o in officials]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"'officials' must be distinct names, at least one, got {list(officials)!r}")
    else:
        raise ValueError(f"'officials' must be a sequence of names or a number, got {type(officials).__name__}")
    load = pd.Series(caseload, dtype=float)
    bad = ~(np.isfinite(load.to_numpy()) & (load.to_numpy() >= 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"'caseload' must be non-negative numbers, got {to_python(load.iloc[i])!r} for {to_python(load.index[i])!r}"
        )
    codes = load.index.astype(str).to_numpy()
    order = np.lexsort((codes, -load.to_numpy()))
    heap = [(0.0, k) for k in range(len(names))]
    given = []
    for i in order:
        total, k = heapq.heappop(heap)
        given.append((codes[i], names[k], float(load.iloc[i])))
        heapq.heappush(heap, (total + float(load.iloc[i]), k))
    out = pd.DataFrame(given, columns=["village_code", "official", "caseload"])
    totals = out.groupby("official")["caseload"].sum()
    out.attrs["caseloads"] = {n: float(totals.get(n, 0.0)) for n in names}
    return out


# ----------------------------------------------------------------------------- the workbooks


def _text(value):
    return neutralise_formula(value) if isinstance(value, str) else value


def _village_sheet(wb: Workbook, title: str, part: pd.DataFrame, header: str, official: str) -> None:
    ws = wb.create_sheet(title)
    ws.append([_text(_NOTICE)])
    ws.append([_text(header)])
    ws.append([_text(f"Cán bộ phụ trách: {official}" if official else "Cán bộ phụ trách: ")])
    ws.append([])
    ws.append([_text(h) for h in _HEADERS])
    for r in part.itertuples(index=False):
        level = "Cao" if r.at_risk else "Theo dõi"
        ws.append([int(r.rank), _text(str(r.household_id)), round(100 * float(r.probability), 1), level,
                   _text(r.reason), None, None, None])  # fmt: skip
    ws["A1"].font = Font(bold=True, color="C00000")
    ws["A2"].font = Font(bold=True)
    for cell in ws[_HEADER_ROW]:
        cell.font = Font(bold=True)
    for row in ws.iter_rows(min_row=_HEADER_ROW + 1, min_col=2, max_col=2):
        row[0].number_format = "@"
    for row in ws.iter_rows(min_row=_HEADER_ROW + 1, min_col=5, max_col=5):
        row[0].alignment = Alignment(wrap_text=True, vertical="top")
    for row in ws.iter_rows(min_row=_HEADER_ROW + 1, min_col=7, max_col=7):
        row[0].number_format = "dd/mm/yyyy"
    for k, width in enumerate(_WIDTHS):
        ws.column_dimensions[chr(ord("A") + k)].width = width
    ws.freeze_panes = f"C{_HEADER_ROW + 1}"
    ws.auto_filter.ref = f"A{_HEADER_ROW}:H{_HEADER_ROW + len(part)}"


def write_followup_workbook(
    lists: pd.DataFrame,
    path: str | os.PathLike,
    *,
    commune_code: str,
    assignment: pd.DataFrame | None = None,
    threshold: float = DEFAULT_RISK_THRESHOLD,
) -> ConfidentialFile:
    """Write one commune's follow-up workbook: a summary sheet, then one sheet per village.

    **Confidential**, as :func:`povanalysis.targeting.risk.confidential_export`: the name must
    contain ``CONFIDENTIAL`` and end in ``.xlsx``; every sheet opens with
    :data:`~povanalysis.targeting.risk.CONFIDENTIAL_MARK` and a notice in Vietnamese and
    English; the file is readable by its owner only (mode ``0o600`` from its first byte),
    appears whole or not at all, and is never written into a folder that holds published
    reports (nor over a file with other names).  Text that a spreadsheet would read as a formula
    gets a leading apostrophe (:func:`povanalysis.common.safe.neutralise_formula`): the
    workbook holds no formula.

    The summary sheet (:data:`SUMMARY_SHEET`) lists the villages: code, name, sheet, households
    listed, households at high risk, and the official in charge (from ``assignment``, else
    empty).  Each village's sheet (:func:`sheet_titles` of the village names) lists its
    households by rank (highest risk first): rank, household code, probability (%), level
    ("Cao" at or above ``threshold``, else "Theo dõi"), the reason in words, and empty columns
    for the official's name, the visit date and the outcome.  Nothing else of the household is
    written (no ethnicity, no income amount).

    Parameters
    ----------
    lists : DataFrame
        From :func:`followup_lists`.
    path : path-like
        An ``.xlsx`` file whose name contains ``CONFIDENTIAL`` (any case).
    commune_code : str
        The commune whose households are written.
    assignment : DataFrame, optional
        ``village_code``, ``official`` (:func:`assign_officials`).
    threshold : float
        The threshold ``lists`` was made with (for the notes).

    Returns
    -------
    ConfidentialFile
        The file, the households listed and a message saying who can read it.
    """
    threshold = _check_threshold(threshold)
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise ValueError(f"'path' must be an .xlsx file, got {path.name!r}")
    if "confidential" not in path.name.lower():
        raise ValueError(
            f"'path' must say the file is confidential: its name must contain 'CONFIDENTIAL', "
            f"got {path.name!r} (e.g. 'MAT-CONFIDENTIAL_theo-doi-ho_01840_2025.xlsx')"
        )
    target = check_confidential_target(path)
    require_frame(lists, "lists", ["commune_code", "village_code", "village_name", "rank", "household_id"])
    part = lists[lists["commune_code"] == commune_code]
    if part.empty:
        raise ValueError(f"'lists' has no household of commune {commune_code!r}")
    officials: dict[str, str] = {}
    if assignment is not None:
        require_frame(assignment, "assignment", ["village_code", "official"])
        officials = dict(zip(assignment["village_code"].astype(str), assignment["official"].astype(str)))
    villages = part.drop_duplicates("village_code")[["village_code", "village_name"]].reset_index(drop=True)
    titles = sheet_titles(villages["village_name"].tolist())
    commune_name = str(part["commune_name"].iloc[0]) if "commune_name" in part.columns else ""
    year = int(part["review_year"].max())
    wb = Workbook()
    summary = wb.active
    summary.title = SUMMARY_SHEET
    summary.append([_text(_NOTICE)])
    summary.append([_text(f"{commune_name} ({commune_code}): hộ mới thoát nghèo cần theo dõi sau rà soát năm {year}, "
                          f"xếp theo nguy cơ tái nghèo ở lần rà soát tới; nguy cơ cao từ {threshold:.0%}")])  # fmt: skip
    summary.append([])
    summary.append([])
    summary.append(["Mã thôn", "Thôn, xóm, bản, tổ dân phố", "Trang tính", "Số hộ theo dõi", "Số hộ nguy cơ cao",
                    "Cán bộ phụ trách"])  # fmt: skip
    for (code, name), title in zip(villages.itertuples(index=False), titles):
        rows = part[part["village_code"] == code]
        summary.append([_text(str(code)), _text(str(name)), _text(title), len(rows), int(rows["at_risk"].sum()),
                        _text(officials.get(str(code), ""))])  # fmt: skip
    summary["A1"].font = Font(bold=True, color="C00000")
    for cell in summary[_HEADER_ROW]:
        cell.font = Font(bold=True)
    for k, width in enumerate((12, 30, 32, 14, 16, 24)):
        summary.column_dimensions[chr(ord("A") + k)].width = width
    summary.freeze_panes = f"A{_HEADER_ROW + 1}"
    for (code, name), title in zip(villages.itertuples(index=False), titles):
        rows = part[part["village_code"] == code].sort_values("rank", kind="stable")
        header = f"{commune_name} ({commune_code}) — {name} — hộ mới thoát nghèo sau rà soát năm {year}"
        _village_sheet(wb, title, rows, header, officials.get(str(code), ""))
    buffer = io.BytesIO()
    wb.save(buffer)
    write_owner_only(target, buffer.getvalue())
    return ConfidentialFile(target, len(part))


def write_followup_workbooks(
    lists: pd.DataFrame,
    folder: str | os.PathLike,
    *,
    assignments: Mapping[str, pd.DataFrame] | None = None,
    threshold: float = DEFAULT_RISK_THRESHOLD,
) -> list[ConfidentialFile]:
    """Write the follow-up workbook of every commune of ``lists`` into ``folder`` (outside any published folder).

    Files are named ``MAT-CONFIDENTIAL_theo-doi-ho_<commune code>_<review year>.xlsx``; the
    folder is checked first, so nothing is written when it is a published one.  ``assignments``
    maps a commune code to its :func:`assign_officials` result.
    """
    folder = Path(folder)
    check_confidential_target(folder / "MAT-CONFIDENTIAL_check.xlsx")
    require_frame(lists, "lists", ["commune_code", "review_year"])
    out = []
    for code, part in lists.groupby("commune_code", sort=True):
        year = int(part["review_year"].max())
        path = folder / f"MAT-CONFIDENTIAL_theo-doi-ho_{code}_{year}.xlsx"
        assignment = (assignments or {}).get(str(code))
        out.append(write_followup_workbook(part, path, commune_code=str(code), assignment=assignment,
                                           threshold=threshold))  # fmt: skip
    return out


# ----------------------------------------------------------------------------- published counts

_TOTAL = "all"


def village_layout() -> Layout:
    """The disclosure layout of :func:`village_counts`: villages add up to their commune's ``all`` row.

    Counts: ``households`` (every household of the village at the review, the denominator),
    ``newly_escaped`` (those on the follow-up list) and ``at_risk`` (at high risk), with the rate
    ``at_risk_rate`` = at risk / newly escaped.
    """
    return Layout(
        keys=("commune_code", "village_code"),
        counts=("newly_escaped", "at_risk"),
        denominator="households",
        totals={"village_code": _TOTAL},
        rates={"at_risk_rate": ("at_risk", "newly_escaped")},
    )


def village_counts(
    lists: pd.DataFrame,
    classified: pd.DataFrame,
    *,
    villages: pd.DataFrame | None = None,
    commune_code: str | None = None,
    min_cell: int | None = None,
) -> Protected:
    """Publishable counts by village: households, newly escaped, at high risk, under the disclosure rule.

    Every village of the commune with households at the review is a row (the same rows
    whatever the counts), and the commune's total is the ``village_code`` ``"all"`` row; the
    rule of :func:`povanalysis.reports.disclosure.protect` hides counts under the limit
    (``< 10``) and, against the commune total, the complements that would give them back.
    Publish ``.display(lang)`` (or :func:`village_table`) with ``.note(lang)``.

    Parameters
    ----------
    lists : DataFrame
        From :func:`followup_lists` (``commune_code``, ``village_code``, ``review_year``, ``at_risk``).
    classified : DataFrame
        Every household at the review (``household_id``, ``review_year``, ``commune_code``): the denominators.
    villages : DataFrame, optional
        ``household_id``, ``village_code`` of every household (households without one count in
        the unknown village).
    commune_code : str, optional
        One commune only (the commune report's table); default every commune.
    min_cell : int, optional
        The limit; default :data:`povanalysis.config.MIN_CELL`.

    Returns
    -------
    Protected
    """
    require_frame(lists, "lists", ["commune_code", "village_code", "review_year", "at_risk"])
    require_frame(classified, "classified", ["household_id", "review_year", "commune_code"])
    year = int(lists["review_year"].max())
    hh = classified.loc[classified["review_year"] == year, ["household_id", "commune_code"]]
    hh = hh.assign(household_id=hh["household_id"].astype(str))
    code = UNKNOWN_VILLAGE[0]
    if villages is not None:
        require_frame(villages, "villages", ["household_id", "village_code"])
        one = villages.assign(household_id=villages["household_id"].astype(str)).drop_duplicates("household_id")
        hh["village_code"] = hh["household_id"].map(one.set_index("household_id")["village_code"]).fillna(code)
    else:
        hh["village_code"] = code
    ls = lists
    if commune_code is not None:
        hh, ls = hh[hh["commune_code"] == commune_code], ls[ls["commune_code"] == commune_code]
        if hh.empty:
            raise ValueError(f"'classified' has no household of commune {commune_code!r} at review {year}")
    keys = ["commune_code", "village_code"]
    table = hh.groupby(keys).size().rename("households").to_frame()
    table["newly_escaped"] = ls.groupby(keys).size().reindex(table.index, fill_value=0)
    table["at_risk"] = ls.groupby(keys)["at_risk"].sum().reindex(table.index, fill_value=0)
    stray = ls.set_index(keys).index.difference(table.index)
    if len(stray):
        raise ValueError(
            f"'lists' has households in {stray[0]!r} (commune, village), where 'classified' has none at review {year}"
        )
    table = table.astype(np.int64).reset_index()
    totals = table.groupby("commune_code")[["households", "newly_escaped", "at_risk"]].sum().reset_index()
    totals["village_code"] = _TOTAL
    table = pd.concat([table, totals[table.columns]], ignore_index=True)
    table = table.sort_values(keys, key=lambda s: s.where(s != _TOTAL, "~"), kind="stable").reset_index(drop=True)
    return protect(table, village_layout(), min_cell=min_cell)


def village_table(protected: Protected, villages: pd.DataFrame | None = None, *, lang: str = "vi") -> pd.DataFrame:
    """The published table of :func:`village_counts`, one commune, for reading: village names, headings in ``lang``.

    Examples
    --------
    >>> lists = pd.DataFrame({"commune_code": ["01840"] * 3, "village_code": ["01840-001"] * 3,
    ...                       "review_year": [2025] * 3, "at_risk": [True, False, False]})
    >>> hh = pd.DataFrame({"household_id": list("abcdefghijklmnopqrstuvwxyz"), "review_year": 2025,
    ...                    "commune_code": "01840"})
    >>> v = hh.assign(village_code="01840-001", village_name="Xóm Na")
    >>> village_table(village_counts(lists, hh, villages=v, min_cell=4), v, lang="en").to_dict("records")
    [{'Village': 'Xóm Na', 'Households': '26', 'Newly escaped': '< 4', 'At high risk': '< 4', 'Share at high risk': '–'}, {'Village': 'Whole commune', 'Households': '26', 'Newly escaped': '< 4', 'At high risk': '< 4', 'Share at high risk': '–'}]
    """
    lang = check_lang(lang)
    shown = protected.display(lang)
    if shown["commune_code"].nunique() > 1:
        raise ValueError("'protected' must hold one commune: pass commune_code to village_counts")
    names = {}
    if villages is not None:
        names = dict(zip(villages["village_code"].astype(str), villages["village_name"].astype(str)))
    unknown = UNKNOWN_VILLAGE[1] if lang == "vi" else "Village not known"
    whole = "Cả xã, phường" if lang == "vi" else "Whole commune"
    village = shown["village_code"].map(lambda c: whole if c == _TOTAL else names.get(c, unknown if c == "" else c))
    headings = {
        "vi": ("Thôn, xóm, bản, tổ dân phố", "Số hộ", "Hộ mới thoát nghèo", "Hộ nguy cơ tái nghèo cao",
               "Tỷ lệ nguy cơ cao"),
        "en": ("Village", "Households", "Newly escaped", "At high risk", "Share at high risk"),
    }[lang]  # fmt: skip
    key = village.map(_natural).where(shown["village_code"] != _TOTAL, "\uffff")  # the total last
    order = np.argsort(key.to_numpy(dtype=str), kind="stable")
    shown, village = shown.iloc[order], village.iloc[order]
    out = pd.DataFrame(
        {
            headings[0]: village.to_numpy(),
            headings[1]: shown["households"].to_numpy(),
            headings[2]: shown["newly_escaped"].to_numpy(),
            headings[3]: shown["at_risk"].to_numpy(),
            headings[4]: shown["at_risk_rate"].to_numpy(),
        }
    )
    return out
