"""Sentences and the small table of lasting exits in Vietnamese and English, under the publication limit.

What is published of one unit (a commune, a group, the province) and one exit year: the exits,
and at each later review the two parts they split into, still out of poverty at every review
since (held) or not (poor again, or no longer on the review lists), with their shares of the
exits.  Every share has the exits as its denominator, so a household no longer on the lists
counts as not held (``held_all`` of :data:`povanalysis.goals.exits.MEASURES`) and a share
gives back no more than the counts shown.  The rule (:func:`publish_exits`):

- exits under the limit read ``< 10`` and nothing else of the year is shown;
- a part from 1 to limit − 1 reads ``< 10`` and its share a band ``< u`` whose bound makes
  ``u × exits`` at least the limit (:func:`povanalysis.reports.disclosure.rate_band`); the
  other part, which the exits minus it would give, reads ``–`` and its share ``> 1 − u``;
- the households not held are split into poor again and no longer on the lists only when
  neither split gives a small count away: one of them is 0, or both reach the limit;
- the 95% interval is shown with a share shown in full.

Counts of different horizons are not tied by the rule: the held after one and after two
reviews are both shown when both reach the limit, though their difference may be small.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ...common.labels import check_lang, format_number, format_percent, label, pick
from ...common.safe import escape_markdown
from ...goals.exits import Exits
from ..disclosure import DASH, rate_band

__all__ = [
    "EXIT_TEXT",
    "GROUP_NAMES",
    "PARTS",
    "DETAIL",
    "exit_label",
    "unit_name",
    "publish_exits",
    "exits_text",
    "exits_table",
]

#: The two parts the exits of a year split into at each later review.
PARTS: tuple[str, ...] = ("held", "not_held")
#: How the households not held split, published when no small count follows from it.
DETAIL: tuple[str, ...] = ("reentered", "lost")

#: Words of the lasting-exits sentences, table and figure: key → (Vietnamese, English).
EXIT_TEXT: Mapping[str, tuple[str, str]] = {
    "province": ("Toàn tỉnh", "The province"),
    "exit_year": ("Năm thoát nghèo", "Year of exit"),
    "exits": ("Hộ thoát nghèo (hộ)", "Households leaving poverty (households)"),
    "held": ("Vẫn ngoài diện nghèo sau {k} kỳ (hộ)", "Still out after {k} review(s) (households)"),
    "held_share": ("Tỷ lệ vẫn ngoài diện nghèo sau {k} kỳ (%)", "Share still out after {k} review(s) (%)"),
    "held_ci": ("Khoảng tin cậy 95% sau {k} kỳ (%)", "95% interval after {k} review(s) (%)"),
    "not_held": ("Không giữ được sau {k} kỳ (hộ)", "Not held after {k} review(s) (households)"),
    "reentered": ("Tái nghèo trong {k} kỳ (hộ)", "Poor again within {k} review(s) (households)"),
    "lost": ("Không còn trong danh sách rà soát (hộ)", "No longer on the review lists (households)"),
    "not_yet": ("chưa có kỳ rà soát", "no review yet"),
    "fewer": ("dưới {n}", "fewer than {n}"),
    "under": ("dưới {p}", "under {p}"),
    "over": ("trên {p}", "over {p}"),
    "figure_title": (
        "{who}: hộ thoát nghèo và số hộ vẫn ngoài diện nghèo ở các kỳ rà soát sau",
        "{who}: households leaving poverty and how many were still out at later reviews",
    ),
    "figure_exits": ("Hộ thoát nghèo", "Households leaving poverty"),
    "figure_held": ("Vẫn ngoài diện nghèo sau {k} kỳ", "Still out after {k} review(s)"),
    "figure_y": ("Số hộ", "Households"),
    "figure_hidden": (
        "{n} cột không công bố (dưới ngưỡng {m} hộ)",
        "{n} bar(s) not published (fewer than {m} households)",
    ),
    "figure_interval": ("khoảng tin cậy 95%", "95% interval"),
}


#: Names of the groups that :func:`povanalysis.common.labels.label` does not know.
GROUP_NAMES: Mapping[str, tuple[str, str]] = {
    "disadvantaged": ("Các xã đặc biệt khó khăn", "Disadvantaged communes"),
    "other": ("Các xã khác", "Other communes"),
}


def exit_label(key: str, lang: str, **fields: object) -> str:
    """The ``lang`` words of ``key`` in :data:`EXIT_TEXT`, with its ``{}`` fields filled.

    Examples
    --------
    >>> exit_label("held", "vi", k=1)
    'Vẫn ngoài diện nghèo sau 1 kỳ (hộ)'
    """
    text = pick(EXIT_TEXT, key, lang)
    return text.format(**fields) if fields else text


_w = exit_label


def _pct(value: float, lang: str) -> str:
    return format_percent(value, lang, digits=1)


def _hide(e: int, parts: dict[str, int], limit: int) -> dict[str, str]:
    """Why each part of ``e`` exits is hidden: "" (shown), "small", "complement" or "denominator"."""
    if e < limit:
        return {p: ("" if e == 0 else "denominator") for p in parts}
    why = {p: ("small" if 0 < v < limit else "") for p, v in parts.items()}
    hidden = [p for p in parts if why[p]]
    if len(hidden) == 1:
        for p in parts:
            if not why[p] and parts[p] > 0:
                why[p] = "complement"
    return why


def publish_exits(exits: Exits, level: str = "commune", group: object = None, *, lang: str = "vi") -> pd.DataFrame:
    """The published cells of one unit: one row per exit year and later review (``horizon``), as text.

    Columns: ``exit_year``, ``horizon`` (0 for the exits alone), ``exits``, and for each of
    :data:`PARTS` and :data:`DETAIL` the count (``held``...) and its share of the exits
    (``held_share``...), as published (``""`` on horizon-0 rows); ``held_ci`` (the 95% interval of the held share, ``""`` when not shown); and
    the numbers a figure may draw, NaN where not published: ``exits_value``, ``held_value``,
    ``held_lower``, ``held_upper`` (the interval as households).

    Parameters
    ----------
    exits : Exits
        :func:`povanalysis.goals.exits.lasting_exits`.
    level, group
        The unit: ``("commune", code)``, ``("province", "all")`` (``group`` None means
        ``"all"``), ``("minority", "minority")``...
    lang : {"vi", "en"}

    Examples
    --------
    >>> from povanalysis.goals.exits import lasting_exits
    >>> hist = {f"h{i}": ["poor", "not_poor", "poor" if i < 3 else "not_poor"] for i in range(40)}
    >>> hh = pd.DataFrame([{"household_id": h, "review_year": 2023 + j, "commune_code": "01",
    ...                     "poverty_class": c, "standard": "2022-2025"} for h, cs in hist.items()
    ...                    for j, c in enumerate(cs)])
    >>> cells = publish_exits(lasting_exits(hh, min_cell=10), "commune", "01", lang="en")
    >>> cells.loc[1, ["exits", "held", "held_share", "reentered", "reentered_share", "lost"]].tolist()
    ['40', '–', '> 50.0%', '< 10', '< 50.0%', '0']
    """
    check_lang(lang)
    if not isinstance(exits, Exits):
        raise TypeError(f"'exits' should be an Exits result, got {type(exits).__name__}")
    group = "all" if group is None else group
    unit = exits.unit(level, group).sort_values(["exit_year", "horizon"])
    limit = exits.min_cell
    few = f"< {limit}"
    rows = []
    for r in unit.itertuples(index=False):
        e = int(r.exits)
        row = {"exit_year": int(r.exit_year), "horizon": int(r.horizon)}
        row["exits"] = format_number(e, lang) if (e == 0 or e >= limit) else few
        row["exits_value"] = float(e) if (e == 0 or e >= limit) else np.nan
        row |= {p: "" for p in PARTS + DETAIL} | {f"{p}_share": "" for p in PARTS + DETAIL}
        row |= {"held_ci": "", "held_value": np.nan, "held_lower": np.nan, "held_upper": np.nan}
        if r.horizon > 0:
            parts = {"held": int(r.held), "not_held": e - int(r.held)}
            why = _hide(e, parts, limit)
            band = rate_band(e, limit) if e >= limit else np.nan
            for p in PARTS:
                v = parts[p]
                if e == 0:
                    row[p], row[f"{p}_share"] = "0", DASH
                elif not why[p]:
                    row[p], row[f"{p}_share"] = format_number(v, lang), _pct(v / e, lang)
                elif why[p] == "small":
                    row[p] = few
                    row[f"{p}_share"] = DASH if band != band else "< " + _pct(band, lang)
                elif why[p] == "complement":
                    row[p] = DASH
                    row[f"{p}_share"] = DASH if band != band else "> " + _pct(1 - band, lang)
                else:
                    row[p], row[f"{p}_share"] = DASH, DASH
            split = {"reentered": int(r.reentered), "lost": int(r.lost)}
            if e >= limit and (min(split.values()) == 0 or min(split.values()) >= limit):
                for p, v in split.items():
                    row[p] = row["not_held"] if v == parts["not_held"] else format_number(v, lang)
                    row[f"{p}_share"] = row["not_held_share"] if v == parts["not_held"] else _pct(v / e, lang)
            else:
                for p in DETAIL:
                    row[p], row[f"{p}_share"] = DASH, DASH
            if e > 0 and not why["held"]:
                lo, hi = float(r.held_all_lower), float(r.held_all_upper)
                row["held_ci"] = f"{_pct(lo, lang).rstrip('%')}–{_pct(hi, lang)}"
                row["held_value"] = float(parts["held"])
                row["held_lower"], row["held_upper"] = lo * e, hi * e
        rows.append(row)
    return pd.DataFrame(rows)


def unit_name(level: str, group: object, lang: str) -> str:
    """The name of a unit in a sentence or a title (a commune's registry name), Markdown-escaped.

    Examples
    --------
    >>> unit_name("minority", "minority", "en"), unit_name("commune", "01843", "vi")
    ('Ethnic-minority households', 'Phường Bắc Kạn')
    """
    if level == "province":
        return _w("province", lang)
    if level == "commune":
        from ...data import registry

        names = registry.units().set_index("commune_code")["name"]
        return escape_markdown(names.get(str(group), str(group)))
    return escape_markdown(
        pick(GROUP_NAMES, str(group), lang) if str(group) in GROUP_NAMES else label(str(group), lang)
    )


def _join(clauses: list[str], conj: str) -> str:
    return clauses[0] if len(clauses) == 1 else ", ".join(clauses[:-1]) + f" {conj} " + clauses[-1]


def _words(cell: str, lang: str) -> str:
    """A published cell inside a sentence: ``< 10`` reads "dưới 10", ``< 5,0%`` "dưới 5,0%"."""
    if cell.startswith("< "):
        bound = cell[2:]
        return _w("under" if bound.endswith("%") else "fewer", lang, n=bound, p=bound)
    if cell.startswith("> "):
        return _w("over", lang, p=cell[2:])
    return cell


def _held_part(c: pd.Series, lang: str, min_cell: int) -> str:
    """The households still out, as a sentence names them: count (share; interval), or what the rule allows."""
    vi = lang == "vi"
    unit = "hộ" if vi else "households"
    share = _words(c["held_share"], lang)
    if c["held"] == DASH:
        # hidden because the households not held are under the limit: the reader already knows
        # that at least exits − (limit − 1) held, and the sentence says no more
        least = format_number(int(c["exits_value"]) - min_cell + 1, lang)
        return f"{'ít nhất' if vi else 'at least'} {least} {unit}" + (f" ({share})" if share != DASH else "")
    ci = (f"; khoảng tin cậy 95%: {c['held_ci']}" if vi else f"; 95% interval {c['held_ci']}") if c["held_ci"] else ""
    held = _words(c["held"], lang)
    return f"{held} {unit} ({share}{ci})" if share != DASH else f"{held} {unit}"


def _held_two(exits: Exits, cells: pd.DataFrame, t: int, lang: str) -> str:
    """The sentence on the exits of the latest year up to ``t`` with two later reviews ("" when none)."""
    vi = lang == "vi"
    text = ""
    two = cells[(cells["horizon"] == 2) & (cells["exit_year"] < t + 1)]
    if not two.empty:
        c2 = two[two["exit_year"] == two["exit_year"].max()].iloc[0]
        t2 = int(c2["exit_year"])
        y1, y2 = (
            exits.review_years[exits.review_years.index(t2) + 1],
            exits.review_years[exits.review_years.index(t2) + 2],
        )
        if c2["exits_value"] == c2["exits_value"] and c2["exits_value"] > 0:
            h2 = _held_part(c2, lang, exits.min_cell)
            e2 = _words(c2["exits"], lang)
            if vi:
                text += (
                    f" Trong {e2} hộ thoát nghèo năm {t2}, {h2} vẫn ngoài diện nghèo ở cả hai kỳ rà "
                    f"soát {y1} và {y2}: đó là số hộ thoát nghèo bền vững."
                )
            else:
                text += (
                    f" Of the {e2} households that left poverty in {t2}, {h2} were still out at both "
                    f"the {y1} and {y2} reviews: the exits that held."
                )
    return text


def exits_text(
    exits: Exits, level: str = "commune", group: object = None, *, year: int | None = None, lang: str = "vi"
) -> str:
    """One paragraph on the exits of a year and how many lasted, under the publication limit (Markdown).

    ``year`` is the exit year (default: the latest with a later review); the paragraph
    adds how many of the exits of the latest year with two later reviews were still out at
    both.  Shares are of all the exits: a household no longer on the review lists is not
    counted as still out.

    Examples
    --------
    >>> from povanalysis.goals.exits import lasting_exits
    >>> hist = {f"h{i}": ["poor", "not_poor", "poor" if i < 12 else "not_poor"] for i in range(60)}
    >>> hh = pd.DataFrame([{"household_id": h, "review_year": 2023 + j, "commune_code": "01",
    ...                     "poverty_class": c, "standard": "2022-2025"} for h, cs in hist.items()
    ...                    for j, c in enumerate(cs)])
    >>> exits_text(lasting_exits(hh, min_cell=10), "commune", "01")
    'Năm 2024 có 60 hộ thoát nghèo; ở kỳ rà soát 2025, 48 hộ (80,0%; khoảng tin cậy 95%: 68,2–88,2%) vẫn ngoài diện nghèo và 12 hộ tái nghèo.'
    """
    check_lang(lang)
    vi = lang == "vi"
    cells = publish_exits(exits, level, group, lang=lang)
    group = "all" if group is None else group
    followed = cells[cells["horizon"] == 1]
    if followed.empty:
        return (
            "Chưa có kỳ rà soát nào sau năm thoát nghèo để biết hộ có giữ được hay không."
            if vi
            else "No review after a year of exits yet shows whether the exits lasted."
        )
    t = int(followed["exit_year"].max()) if year is None else int(year)
    one = followed[followed["exit_year"] == t]
    if one.empty:
        raise ValueError(f"no exits in {t} with a later review (years: {sorted(followed['exit_year'].tolist())})")
    c = one.iloc[0]
    who = unit_name(level, group, lang)
    nxt = exits.review_years[exits.review_years.index(t) + 1]
    lead = f"{who}: " if level != "commune" else ""
    n_exits = _words(c["exits"], lang)
    if c["held"] == "":
        return lead + (f"Năm {t} có {n_exits} hộ thoát nghèo." if vi else f"In {t}, {n_exits} households left poverty.")
    if c["exits_value"] != c["exits_value"]:
        small = (
            f"Năm {t} có {n_exits} hộ thoát nghèo: quá ít để công bố bao nhiêu hộ giữ được."
            if vi
            else f"In {t}, {n_exits} households left poverty: too few to publish how many stayed out."
        )
        return lead + small
    if c["exits_value"] == 0:
        text = f"Năm {t} có 0 hộ thoát nghèo." if vi else f"In {t}, no household left poverty."
        return lead + text + _held_two(exits, cells, t, lang)
    held_part = _held_part(c, lang, exits.min_cell)
    back, lost, other = _words(c["reentered"], lang), _words(c["lost"], lang), _words(c["not_held"], lang)
    if vi:
        clauses = [f"{held_part} vẫn ngoài diện nghèo"]
        if back != DASH:
            clauses.append(f"{back} hộ tái nghèo")
            if lost != "0":
                clauses.append(f"{lost} hộ không còn trong danh sách rà soát")
        elif other != DASH:
            clauses.append(f"{other} hộ tái nghèo hoặc không còn trong danh sách rà soát")
        elif c["not_held_share"] != DASH:
            clauses.append(
                f"{_words(c['not_held_share'], lang)} số hộ tái nghèo hoặc không còn trong danh sách rà soát"
            )
        text = f"Năm {t} có {n_exits} hộ thoát nghèo; ở kỳ rà soát {nxt}, " + _join(clauses, "và") + "."
    else:
        clauses = [f"{held_part} were still out"]
        if back != DASH:
            clauses.append(f"{back} were poor again")
            if lost != "0":
                clauses.append(f"{lost} were no longer on the review lists")
        elif other != DASH:
            clauses.append(f"{other} were poor again or no longer on the review lists")
        elif c["not_held_share"] != DASH:
            clauses.append(f"{_words(c['not_held_share'], lang)} were poor again or no longer on the review lists")
        text = f"In {t}, {n_exits} households left poverty; at the {nxt} review " + _join(clauses, "and") + "."
    return lead + text + _held_two(exits, cells, t, lang)


def exits_table(exits: Exits, level: str = "commune", group: object = None, *, lang: str = "vi") -> pd.DataFrame:
    """A small table for reading: one row per exit year, counts and shares as published text.

    Columns (Vietnamese headers with units in ``vi``): the exit year, the exits, and for one
    and two later reviews the households still out, their share with its 95% interval; the
    households poor again and no longer on the lists one review later.  A year without that
    review reads "chưa có kỳ rà soát".

    Examples
    --------
    >>> from povanalysis.goals.exits import lasting_exits
    >>> hist = {f"h{i}": ["poor", "not_poor", "not_poor" if i % 4 else "poor"] for i in range(60)}
    >>> hh = pd.DataFrame([{"household_id": h, "review_year": 2023 + j, "commune_code": "01",
    ...                     "poverty_class": c, "standard": "2022-2025"} for h, cs in hist.items()
    ...                    for j, c in enumerate(cs)])
    >>> exits_table(lasting_exits(hh, min_cell=10), "commune", "01").iloc[0, :4].tolist()
    ['2024', '60', '45', '75,0%']
    """
    check_lang(lang)
    cells = publish_exits(exits, level, group, lang=lang)
    years = sorted(cells["exit_year"].unique())
    not_yet = _w("not_yet", lang)
    out = {_w("exit_year", lang): [str(y) for y in years]}
    by = cells.set_index(["exit_year", "horizon"])
    out[_w("exits", lang)] = [by.loc[(y, 0), "exits"] for y in years]
    for k in (1, 2):
        for key, col in (("held", "held"), ("held_share", "held_share"), ("held_ci", "held_ci")):
            out[_w(key, lang, k=k)] = [by.loc[(y, k), col] if (y, k) in by.index else not_yet for y in years]
    for key in ("not_held", "reentered", "lost"):
        name = _w(key, lang, k=1)
        out[name] = [by.loc[(y, 1), key] if (y, 1) in by.index else not_yet for y in years]
    table = pd.DataFrame(out)
    return table.replace("", DASH)
