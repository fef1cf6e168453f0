"""The figures of an annex checked against each other: counts, rates, totals and units given twice.

A published annex repeats itself: a rate next to its counts, a district's figures above its
communes', a province total above all.  :class:`Checker` reads each row's cells
(:func:`parse_count`, :func:`parse_rate`) and collects every disagreement as a problem that
names the row, the column and the value; :func:`problems_error` makes of them one
:class:`~povanalysis.data.sources.ValidationError`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..data.sources import MAX_SHOWN, ValidationError
from .headers import COUNTS, RATE_OF, Header
from .names import Match, Matcher
from .sheet import Grid, where

__all__ = ["Row", "Checker", "parse_count", "parse_rate", "shown", "check_totals", "check_duplicates", "problems_error"]

#: Cells meaning "none" in a count column.
DASHES = frozenset({"-", "–", "—", "x", "X"})
_THOUSANDS = re.compile(r"^\d{1,3}(?:([.,\s\u00a0])\d{3})(?:\1\d{3})*$")


def parse_count(value: object) -> tuple[float | None, str | None]:
    """A count cell: ``(value, None)``, ``(None, None)`` when empty, or ``(None, problem)``.

    Thousands may be grouped with dots (the Vietnamese way), commas or spaces; a dash means none.

    Examples
    --------
    >>> [parse_count(v)[0] for v in (1234, 1234.0, "1.234", "1,234", "12 345", "-", None)]
    [1234, 1234, 1234, 1234, 12345, 0, None]
    >>> parse_count("12,5"), parse_count(-3)
    ((None, 'is not a whole number'), (None, 'is negative'))
    """
    if value is None:
        return None, None
    if isinstance(value, bool):
        return None, "is not a count"
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or value != int(value):
            return None, "is not a whole number"
        number = int(value)
    else:
        text = str(value).strip()
        if text in DASHES:
            return 0, None
        found = _THOUSANDS.match(text)
        if found:
            text = re.sub(r"[.,\s\u00a0]", "", text)
        if not re.fullmatch(r"\d+", text):
            return None, "is not a whole number"
        number = int(text)
    if number < 0:
        return None, "is negative"
    return number, None


def parse_rate(value: object, percent: bool) -> tuple[float | None, int, str | None]:
    """A rate cell: ``(value, decimals shown, problem)``; ``percent`` for a cell formatted as a percentage.

    Examples
    --------
    >>> parse_rate("5,46", False), parse_rate("5.46%", False), parse_rate(0.0546, True)[:2]
    ((5.46, 2, None), (5.46, 2, None), (5.46, 2))
    """
    if value is None:
        return None, 0, None
    if isinstance(value, bool):
        return None, 0, "is not a rate"
    if isinstance(value, (int, float)):
        number = float(value) * (100 if percent else 1)
        text = repr(round(number, 10))
    else:
        text = str(value).strip().rstrip("%").strip().replace(" ", "")
        if text in DASHES:
            return 0.0, 0, None
        if text.count(",") == 1 and "." not in text:
            text = text.replace(",", ".")
        if not re.fullmatch(r"\d+(\.\d+)?", text):
            return None, 0, "is not a rate"
        number = float(text)
    decimals = len(text.split(".")[1]) if "." in text and "e" not in text else 0
    return number, decimals, None


def shown(value: float | None) -> str:
    if value is None:
        return "empty"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.4g}"


@dataclass
class Row:
    """One non-blank row below the header: where it is, what it is, its figures, its match and outcome.

    ``i`` is the 0-based row of the grid; ``counts`` maps count fields to values (None when
    empty); ``rates`` maps rate fields to (value, decimals shown).
    """

    i: int
    kind: str
    label: str
    district_label: str
    district: str | None
    counts: dict[str, float | None]
    rates: dict[str, tuple[float | None, int]]
    match: Match | None = None
    outcome: str = ""
    unreadable: set[str] = field(default_factory=set)


class Checker:
    """The checks of one reading: the grid, the header, the matcher, and the problems found so far.

    Each problem names the row (sheet row or CSV line), the label, the column and the value;
    nothing is raised until every row has been checked.
    """

    def __init__(self, grid: Grid, header: Header, matcher: Matcher):
        self.grid, self.header, self.matcher = grid, header, matcher
        self.problems: list[dict] = []
        self.counts = [c for c in COUNTS if c in header.columns]
        self.rates = [r for r in RATE_OF if r in header.columns and RATE_OF[r][0] in header.columns]
        self.first_figure = min(header.columns[c] for c in self.counts)

    def problem(self, row: Row | int, column: str | None, value, text: str) -> None:
        i, label = (row.i, row.label) if isinstance(row, Row) else (row, "")
        col = self.header.columns.get(column) if column else None
        place = where(self.grid, i) + (f" ({label!r})" if label else "")
        if col is not None:
            place += f", {self.header.describe(col)}"
        title = self.header.titles[col] if col is not None else None
        self.problems.append({"row": i + 1, "column": title, "value": value, "problem": f"{place}: {text}"})

    def text(self, i: int, name: str) -> str:
        j = self.header.columns.get(name)
        value = None if j is None else self.grid.cell(i, j)
        return "" if value is None else " ".join(str(value).split())

    def read_row(self, i: int, district_label: str) -> Row | None:
        cells = self.grid.cells[i]
        if not any(c is not None and str(c).strip() for c in cells):
            return None
        label = self.text(i, "name")
        if not label:  # "Tổng cộng" written in the STT column, or across a merged A:B
            for j in range(min(self.first_figure, len(cells))):
                value = cells[j]
                if isinstance(value, str) and re.search(r"[^\W\d_]{2}", value):
                    label = " ".join(value.split())
                    break
        row = Row(i, "", label, district_label, None, {}, {})
        for name in self.counts:
            raw = self.grid.cell(i, self.header.columns[name])
            value, bad = parse_count(raw)
            if bad:
                self.problem(row, name, raw, f"{raw!r} {bad}")
                row.unreadable.add(name)
            row.counts[name] = value
        for name in self.rates:
            j = self.header.columns[name]
            raw = self.grid.cell(i, j)
            value, decimals, bad = parse_rate(raw, (i, j) in self.grid.percent)
            if bad:
                self.problem(row, name, raw, f"{raw!r} {bad}")
            row.rates[name] = (value, decimals)
        return row

    def check_row(self, row: Row) -> None:
        """Counts against their bases; for a commune row, every count column filled."""
        c = row.counts
        if row.kind == "commune":
            for name in self.counts:
                if c.get(name) is None and name not in row.unreadable:
                    self.problem(
                        row, name, None, "empty cell in a commune row with figures (write 0 where there are none)"
                    )
        pairs = [("poor", "households"), ("near_poor", "households"), ("minority_poor", "poor")]
        for part, whole in pairs:
            if c.get(part) is not None and c.get(whole) is not None and c[part] > c[whole]:
                self.problem(row, part, c[part], f"{part} {shown(c[part])} is more than {whole} {shown(c[whole])}")
        if None not in (c.get("poor"), c.get("near_poor"), c.get("households")):
            alone = c["poor"] > c["households"] or c["near_poor"] > c["households"]
            if not alone and c["poor"] + c["near_poor"] > c["households"]:
                self.problem(
                    row,
                    "near_poor",
                    c["near_poor"],
                    f"poor {shown(c['poor'])} and near-poor {shown(c['near_poor'])} households are more than "
                    f"the {shown(c['households'])} households",
                )

    def check_rates(self, rows: list[Row]) -> None:
        """Each rate against its counts, in percent or as a share (the scale most rows agree with)."""
        for name in self.rates:
            num, den = RATE_OF[name]
            found = []
            for row in rows:
                stated, decimals = row.rates.get(name, (None, 0))
                n, d = row.counts.get(num), row.counts.get(den)
                if stated is None or n is None or d is None:
                    continue
                if d == 0:
                    if stated != 0:
                        self.problem(row, name, stated, f"a rate of {shown(stated)} over 0 {den}")
                    continue
                found.append((row, stated, decimals, n / d))
            if not found:
                continue

            def agrees(stated: float, decimals: int, share: float, scale: int) -> bool:
                tolerance = max(0.5 * 10.0**-decimals, 0.005 * scale / 100)
                return abs(stated - share * scale) <= tolerance + 1e-9

            votes = {s: sum(agrees(st, dc, sh, s) for _, st, dc, sh in found) for s in (100, 1)}
            scale = 100 if votes[100] >= votes[1] else 1
            for row, stated, decimals, share in found:
                if not agrees(stated, decimals, share, scale):
                    expected = f"{share * 100:.2f}%" if scale == 100 else f"{share:.4f}"
                    self.problem(
                        row,
                        name,
                        stated,
                        f"the rate {shown(stated)} disagrees with {num} {shown(row.counts[num])} over {den} "
                        f"{shown(row.counts[den])} ({expected}) beyond rounding",
                    )

    def check_total(self, row: Row, scope: list[Row], noun: str) -> list[dict]:
        out = []
        if not any(v is not None for v in row.counts.values()):
            row.outcome = "no figures: not checked"
            return out
        if not scope:
            self.problem(row, None, None, f"the {noun} states figures but no commune row follows it")
            return out
        for name in self.counts:
            stated = row.counts.get(name)
            if stated is None:
                continue
            values = [r.counts.get(name) for r in scope]
            if any(v is None for v in values):
                continue  # an empty cell of a commune row, already a problem
            computed = sum(values)
            if computed != stated:
                self.problem(
                    row,
                    name,
                    stated,
                    f"the {noun} states {shown(stated)} but its {len(scope)} commune rows add up to "
                    f"{shown(computed)} (a difference of {shown(stated - computed)})",
                )
            out.append(
                {
                    "row": row.i + 1,
                    "label": row.label,
                    "kind": row.kind,
                    "column": name,
                    "stated": stated,
                    "computed": computed,
                    "n_rows": len(scope),
                }
            )
        row.outcome = "checked, dropped"
        return out


def check_totals(reader: Checker, rows: list[Row]) -> list[dict]:
    """Check every total, old province, district and subtotal row against the commune rows it covers."""
    figured = [r for r in rows if r.kind == "commune" and any(v is not None for v in r.counts.values())]
    out: list[dict] = []
    for k, row in enumerate(rows):
        if row.kind == "total":
            out += reader.check_total(row, figured, "total")
            continue
        if row.kind not in ("province", "district", "subtotal"):
            continue
        stops = {"province": ("province", "total"), "district": ("province", "total", "district")}
        scope: list[Row] = []
        if row.kind == "subtotal":  # the communes since the last boundary above it
            for prev in reversed(rows[:k]):
                if prev.kind in ("province", "total", "district", "subtotal"):
                    break
                if prev in figured:
                    scope.insert(0, prev)
        else:
            for nxt in rows[k + 1 :]:
                if nxt.kind in stops[row.kind] or nxt.kind == "subtotal" and row.kind == "district":
                    break
                if nxt in figured:
                    scope.append(nxt)
        noun = {"province": "province row", "district": "district row", "subtotal": "subtotal"}[row.kind]
        out += reader.check_total(row, scope, noun)
    return out


def check_duplicates(reader: Checker, placed: list[Row]) -> dict[str, list[Row]]:
    """Placed rows by unit, checked for a unit given twice.

    A fuzzy match to a unit that another row also gives is a wrong guess: the fuzzy row is
    left unplaced (with its suggestions), never summed.  A unit given twice otherwise is an
    error naming both rows, unless the extra rows are aliases (units merged into it).
    """
    by_code: dict[str, list[Row]] = {}
    for row in placed:
        by_code.setdefault(row.match.commune_code, []).append(row)
    for code, group in list(by_code.items()):
        if len(group) < 2:
            continue
        sure = [r for r in group if r.match.method != "fuzzy"]
        guesses = [r for r in group if r.match.method == "fuzzy"]
        if guesses:
            for row in guesses:
                other = next(r for r in group if r is not row)
                row.match = Match(
                    row.label,
                    None,
                    None,
                    None,
                    f"its nearest unit, {reader.matcher.names[code]} ({code}, score {row.match.score:.2f}), is also "
                    f"given at {where(reader.grid, other.i)} ({other.label!r})",
                    row.match.suggestions,
                )
                row.outcome = "unplaced"
            group = sure
            if group:
                by_code[code] = group
            else:
                del by_code[code]
        plain = [r for r in group if r.match.method != "alias"]
        if len(plain) > 1:
            first = plain[0]
            for row in plain[1:]:
                reader.problem(
                    row,
                    "name",
                    row.label,
                    f"{reader.matcher.names[code]} ({code}) is given twice: also at {where(reader.grid, first.i)} "
                    f"({first.label!r})",
                )
    return by_code


def problems_error(path: Path, problems: list[dict]) -> ValidationError:
    frame = pd.DataFrame(problems, columns=["row", "column", "value", "problem"])
    listed = "; ".join(frame["problem"].head(MAX_SHOWN))
    more = f"; … and {len(frame) - MAX_SHOWN} more problems" if len(frame) > MAX_SHOWN else ""
    first = problems[0]
    return ValidationError(
        f"{path}: {listed}{more}",
        path=path,
        row=first["row"],
        column=first["column"],
        value=first["value"],
        problems=frame,
    )
