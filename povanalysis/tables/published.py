"""Reading one published annex of review results into a table by pre-2025 unit, every row accounted for.

Each year the province approves the review of poor and near-poor households by a decision
whose annex gives, by district and commune, the households, the poor and near-poor
households and often the ethnic-minority poor households.  :func:`read_published` reads
such a sheet as it comes (an Excel workbook, or a CSV file), checks its figures against each
other (a count over its base, a rate against its counts, a total against the rows it
covers), matches each commune to the registry within its district
(:mod:`povanalysis.tables.names`) and returns a :class:`PublishedTable`.

Nothing is dropped silently: every row read is in :attr:`PublishedTable.rows` with what was
made of it, totals are dropped only once they add up, and the rows that could not be placed
are returned with their figures and the three nearest units.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import config
from ..data import registry
from ..data.limits import Limits
from ..data.sources import MAX_SHOWN, ValidationError
from ..geo import crosswalk
from .figures import Checker, Row, check_duplicates, check_totals, problems_error
from .headers import COUNTS, column_letter, find_header, fold_title
from .names import MATCH_MARGIN, MATCH_THRESHOLD, Matcher, parse_label
from .sheet import read_grid, where

__all__ = ["PublishedTable", "read_published", "MATCH_THRESHOLD"]

_METHODS = ("exact", "normalised", "ascii", "fuzzy", "alias")
_ROW_COLUMNS = ["row", "kind", "label", "district", "outcome", "commune_code"]


# ----------------------------------------------------------------------------------- result


@dataclass
class PublishedTable:
    """One annex read: the figures by pre-2025 unit, the matches, the rows left unplaced, the checks.

    Attributes
    ----------
    path : Path
    sheet : str or None
    review_year : int
    year_source : {"argument", "title"}
    vintage : int
        The registry the units were matched to (2024: the 280 pre-2025 units).
    table : DataFrame
        One row per unit: ``commune_code``, ``vintage``, ``review_year``, ``name``,
        ``district_name``, ``old_area``, the counts read (``households``, ``poor``,
        ``near_poor``, ``minority_poor`` when present), the rates recomputed from them as
        shares (``poor_rate``, ``near_poor_rate``, ``minority_share_of_poor``) and
        ``source_rows`` (the rows of the file, more than one for aliases).
    matches : DataFrame
        Every commune row placed: ``row``, ``label``, ``district`` (as in the file),
        ``commune_code``, ``name``, ``method`` (exact, normalised, ascii, fuzzy, alias),
        ``score`` and ``note``.
    unplaced : DataFrame
        Every commune row not placed, with its figures, ``reason`` and ``suggestions`` (the
        three nearest units as ``code name (district) score``).
    totals : DataFrame
        Every total, district and subtotal row with figures: ``row``, ``label``, ``kind``,
        ``column``, ``stated``, ``computed`` (over ``n_rows`` commune rows), all of which agree.
    rows : DataFrame
        Every non-blank row below the header: ``row``, ``kind``, ``label``, ``district``,
        ``outcome``, ``commune_code``.
    columns : DataFrame
        Every titled column: ``column`` (letter), ``title``, ``field`` (None when ignored).
    notes : list of str
        Things worth knowing that are not errors.
    """

    path: Path
    sheet: str | None
    review_year: int
    year_source: str
    vintage: int
    table: pd.DataFrame
    matches: pd.DataFrame
    unplaced: pd.DataFrame
    totals: pd.DataFrame
    rows: pd.DataFrame
    columns: pd.DataFrame
    blank_rows: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def missing(self) -> list[str]:
        """Codes of the registry's units that no row of the file gives."""
        return sorted(registry.known_codes(self.vintage) - set(self.table["commune_code"]))

    @property
    def complete(self) -> bool:
        """Every row placed and every unit of the registry present."""
        return self.unplaced.empty and not self.missing

    def summary(self) -> str:
        """What was read, matched, checked and left, in a few lines."""
        lines = [
            f"{self.path.name}"
            + (f" (sheet {self.sheet!r})" if self.sheet else "")
            + f": review year {self.review_year} (from the {self.year_source}), units of vintage {self.vintage}"
        ]
        used = self.columns[self.columns["field"].notna()]
        lines.append("columns: " + ", ".join(f"{f} ← {c} {t!r}" for c, t, f in used.itertuples(index=False)))
        ignored = self.columns[self.columns["field"].isna()]
        if len(ignored):
            lines.append("ignored columns: " + ", ".join(f"{c} {t!r}" for c, t, _ in ignored.itertuples(index=False)))
        kinds = self.rows["kind"].value_counts()
        lines.append(
            f"rows: {len(self.rows)} read below the header = "
            + " + ".join(f"{int(n)} {k}" for k, n in kinds.items())
            + (f" ({self.blank_rows} blank rows not counted)" if self.blank_rows else "")
        )
        methods = self.matches["method"].value_counts()
        lines.append(
            f"communes: {len(self.matches)} placed ("
            + ", ".join(f"{int(methods[m])} {m}" for m in _METHODS if m in methods.index)
            + f"), {len(self.unplaced)} unplaced; {len(self.table)} units in the table"
        )
        fuzzy = self.matches[self.matches["method"] == "fuzzy"]
        for r in fuzzy.itertuples(index=False):
            lines.append(f"  fuzzy: row {r.row} {r.label!r} → {r.commune_code} {r.name} (score {r.score:.3f})")
        for r in self.matches[self.matches["note"] != ""].itertuples(index=False):
            lines.append(f"  note: row {r.row} {r.label!r} → {r.commune_code} {r.name}: {r.note}")
        for r in self.unplaced.itertuples(index=False):
            lines.append(
                f"  unplaced: row {r.row} {r.label!r} ({r.district or 'no district'}): {r.reason}; "
                f"nearest: {r.suggestions or 'none'}"
            )
        if len(self.totals):
            checked = self.totals.drop_duplicates("row")
            lines.append(f"totals: {len(checked)} total, district and subtotal rows checked; all add up")
        unchecked = self.rows[self.rows["outcome"] == "no figures: not checked"]
        if len(unchecked):
            lines.append(f"totals: {len(unchecked)} total, district and subtotal rows without figures, not checked")
        missing = self.missing
        if missing:
            units = registry.units(self.vintage).set_index("commune_code")
            by_area = units.loc[missing, "old_area"].value_counts().to_dict()
            lines.append(f"units absent from the file: {len(missing)} {by_area}")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def to_new_units(
        self,
        *,
        weight: str | None = None,
        weights: pd.DataFrame | None = None,
        boundaries=None,
        min_cell: int | None = None,
        allow_unplaced: bool = False,
    ) -> pd.DataFrame:
        """The figures re-aggregated onto the 92 units of 2025 (:func:`povanalysis.geo.crosswalk.to_new_units`).

        Parameters
        ----------
        weight : {"households", "population", "area"}, optional
            How the three split units are apportioned: ``"households"`` by default when
            ``weights`` is given (e.g. :func:`povanalysis.geo.crosswalk.weights_from_records`
            on a register with both codes; a ``review_year`` column selects this table's
            year), else ``"area"``.
        allow_unplaced : bool
            Re-aggregate even though some rows were not placed (their figures are in no unit;
            a new unit some of whose predecessors are missing is flagged ``complete=False``);
            by default an error.

        Returns
        -------
        DataFrame
            ``review_year``, ``commune_code`` (2025), ``name``, the counts, the rates,
            ``suppressed``, ``apportioned``, ``complete``.
        """
        if not self.unplaced.empty and not allow_unplaced:
            rows = ", ".join(str(r) for r in self.unplaced["row"].head(MAX_SHOWN))
            raise ValueError(
                f"{self.path}: {len(self.unplaced)} row(s) not placed (rows {rows}): place them (aliases=, a "
                "corrected name) or pass allow_unplaced=True"
            )
        counts = [c for c in COUNTS if c in self.table.columns]
        frame = self.table[["commune_code", "review_year", *counts]]
        if self.vintage == 2025:
            out = frame.copy()
            for rate, (num, den) in crosswalk.RATES.items():
                if num in out.columns and den in out.columns:
                    out[rate] = np.where(out[den] > 0, out[num] / out[den].where(out[den] > 0, 1), np.nan)
            limit = config.MIN_CELL if min_cell is None else int(min_cell)
            out["suppressed"] = out["households"] < limit
            names = registry.units(2025).set_index("commune_code")["name"]
            out.insert(2, "name", out["commune_code"].map(names).to_numpy())
            return out.assign(apportioned=False, complete=True)
        if weights is not None and "review_year" in weights.columns:
            weights = weights[weights["review_year"] == self.review_year].drop(columns="review_year")
        if weight is None:
            weight = "households" if weights is not None else "area"
        return crosswalk.to_new_units(frame, weight=weight, weights=weights, boundaries=boundaries, min_cell=min_cell)


# ----------------------------------------------------------------------------------- reading


def _review_year(title: str) -> int | None:
    """The review year an annex's title names ("kết quả rà soát ... năm 2023"), not the decision's date.

    Examples
    --------
    >>> _review_year("Kèm theo Quyết định số 12/QĐ-UBND ngày 5 tháng 1 năm 2024. KẾT QUẢ RÀ SOÁT HỘ NGHÈO NĂM 2023 "
    ...              "(chuẩn nghèo giai đoạn 2022-2025)")
    2023
    """
    text = fold_title(title)
    found = [
        (m.start(), int(m.group(1)))
        for m in re.finditer(r"\bnam (20\d\d)\b", text)
        if not re.search(r"thang \d{1,2} $", text[: m.start()])
    ]
    if not found:
        return None
    review = text.find("ra soat")
    after = [y for s, y in found if review >= 0 and s > review]
    return after[0] if after else found[0][1]


def read_published(
    path: str | os.PathLike,
    *,
    year: int | None = None,
    sheet: int | str | None = None,
    vintage: int = 2024,
    columns: Mapping[str, str | int] | None = None,
    aliases: Mapping[str, str] | None = None,
    threshold: float = MATCH_THRESHOLD,
    margin: float = MATCH_MARGIN,
    encoding: str | None = None,
    limits: Limits | None = None,
) -> PublishedTable:
    """Read one published annex of review results: a table by pre-2025 unit, checked and matched.

    Recognised: a header anywhere in the first 60 rows, over up to four rows with merged
    cells (flattened), an optional row numbering the columns; the titles STT, Đơn vị / Tên
    xã, (Tổng) số hộ (dân cư), số hộ nghèo, tỷ lệ hộ nghèo (%), số hộ cận nghèo, tỷ lệ hộ cận
    nghèo, hộ nghèo dân tộc thiểu số, and a district column, with or without diacritics
    (:func:`povanalysis.tables.headers.field_of`); rows of totals ("Tổng cộng", "Toàn tỉnh"),
    old provinces ("Tỉnh Bắc Kạn"), districts ("Huyện …", "Thành phố …", "Thị xã …", "TP.",
    or a district's bare name), subtotals ("Cộng"), breakdowns ("Trong đó", "Thành thị") and
    communes (:func:`povanalysis.tables.names.parse_label`); counts written as numbers or
    text with thousands separators ("1.234"), "-" for none; rates in percent or as shares,
    with a decimal comma.  Rows without figures after the table (signatures, notes) are
    listed as notes.

    Checked, every problem collected before one :class:`ValidationError` is raised: a count
    that is not a whole number >= 0; poor (or near-poor) households more than households,
    poor and near-poor together more than households, ethnic-minority poor more than poor;
    a rate that disagrees with its counts beyond the rounding of its printed decimals (and
    at least 0.005 points); a total, old province, district or subtotal row whose figures
    are not the sum of the commune rows it covers; a unit given twice; a commune row
    without figures; a commune or district found only in another province.

    Parameters
    ----------
    path : str or Path
        ``.xlsx`` or ``.csv`` (UTF-8, UTF-8 with a byte-order mark, or Windows-1258).
    year : int, optional
        The review year; default the year the title names ("… rà soát … năm 2023").
    sheet : int or str, optional
        The worksheet; default the first.
    vintage : {2024, 2025}
        The units the table lists: 2024 for the annexes of 2021–2024 (the 280 pre-2025
        units, within districts); 2025 for the 92 units of the merged province.
    columns : mapping, optional
        Field → column letter, to override or complete the recognition of the titles
        (fields: :data:`povanalysis.tables.headers.FIELDS`).
    aliases : mapping, optional
        Unit names (any spelling) → unit codes, for names the registry does not know (a
        unit merged into another before 2025: its figures are added to that unit's).
    threshold, margin : float
        The fuzzy rule (:data:`povanalysis.tables.names.MATCH_THRESHOLD`, ``MATCH_MARGIN``).
    encoding : str, optional
        The encoding of a CSV file (default: detected).
    limits : Limits, optional
        Default :data:`povanalysis.tables.sheet.ANNEX_LIMITS`.

    Returns
    -------
    PublishedTable

    Raises
    ------
    ValidationError
        The file's figures or units are inconsistent: the message names the file, and for
        each problem (up to five; all in ``problems``) the row, the column and the value.
        Its ``row`` is the row a spreadsheet shows (the sheet row, or the line of a CSV
        file), as annexes have no single header line to count data rows from.
    """
    grid = read_grid(path, sheet=sheet, encoding=encoding, limits=limits)
    header = find_header(grid, columns=columns)
    matcher = Matcher(vintage, threshold=threshold, margin=margin, aliases=aliases)
    notes: list[str] = []
    titled = _review_year(header.title_text)
    if year is None:
        if titled is None:
            raise ValidationError(
                f"{grid.path}: no review year in the title above the table ('năm 2023'): pass year=",
                path=grid.path,
            )
        review_year, source = titled, "title"
    else:
        review_year, source = int(year), "argument"
        if titled is not None and titled != review_year:
            notes.append(f"the title names the year {titled}; year={review_year} was passed and is used")
    if not 2000 <= review_year <= 2100:
        raise ValueError(f"year must be a review year such as 2023, got {review_year!r}")
    reader = Checker(grid, header, matcher)
    rows: list[Row] = []
    blank = 0
    district_label, district = "", None
    for i in range(header.data_start, len(grid.cells)):
        if "district" in header.columns and reader.text(i, "district"):
            district_label = reader.text(i, "district")
            district = matcher.district(district_label)
        row = reader.read_row(i, district_label)
        if row is None:
            blank += 1
            continue
        has_figures = any(v is not None for v in row.counts.values())
        if not row.label:
            row.kind = "unnamed"
            if has_figures:
                reader.problem(row, None, None, "figures without a unit name")
                row.outcome = "error"
            else:
                row.kind, row.outcome = "note", "skipped: no name and no figures"
            rows.append(row)
            continue
        parsed = parse_label(row.label, bare_districts=matcher.vintage < 2025)
        row.kind = parsed.kind
        if parsed.kind == "province":
            district_label, district = "", None
        elif parsed.kind == "district" and "district" not in header.columns:
            district_label, district = row.label, matcher.district(row.label)
            if district is None:
                elsewhere = matcher.district_elsewhere(row.label)
                if elsewhere:
                    reader.problem(
                        row,
                        None,
                        row.label,
                        f"{row.label!r} is not a district of old Thai Nguyen or Bac Kan but of {'; '.join(elsewhere)}",
                    )
                else:
                    notes.append(
                        f"{where(grid, i)}: district {row.label!r} not found in the registry; "
                        "its communes were matched across the province"
                    )
        row.district_label, row.district = district_label, district
        if parsed.kind == "commune":
            match = matcher.commune(row.label, district)
            row.match = match
            if not has_figures:
                if match.commune_code is None:
                    row.kind, row.outcome = "note", "skipped: text without figures"
                else:
                    reader.problem(row, None, None, "a commune row without figures (write 0 where there are none)")
                    row.outcome = "error"
            elif match.commune_code is not None:
                row.outcome = f"placed ({match.method})"
            elif match.elsewhere:
                reader.problem(
                    row,
                    "name",
                    row.label,
                    f"{row.label!r} is not a pre-2025 unit of Thai Nguyen or Bac Kan; units of that name: "
                    f"{'; '.join(match.elsewhere)} (a Thai Nguyen unit merged before 2025? pass aliases=)",
                )
                row.outcome = "error"
            else:
                row.outcome = "unplaced"
        elif parsed.kind == "breakdown":
            row.outcome = "skipped: a breakdown of the rows above"
        rows.append(row)
    figured = [r for r in rows if r.kind == "commune" and any(v is not None for v in r.counts.values())]
    for row in figured:
        reader.check_row(row)
    totals_rows = [r for r in rows if r.kind in ("total", "province", "district", "subtotal")]
    for row in totals_rows:
        reader.check_row(row)
    reader.check_rates(figured + totals_rows)
    checked = check_totals(reader, rows)
    placed = check_duplicates(reader, [r for r in figured if r.match is not None and r.match.commune_code])
    if reader.problems:
        raise problems_error(grid.path, reader.problems)
    return _result(grid, header, matcher, review_year, source, rows, placed, checked, blank, notes)


def _result(grid, header, matcher, review_year, source, rows, placed, checked, blank, notes) -> PublishedTable:
    counts = [c for c in COUNTS if c in header.columns]
    units = matcher.units
    records = []
    for code, group in sorted(placed.items()):
        rec = {
            "commune_code": code,
            "vintage": matcher.vintage,
            "review_year": review_year,
            "name": units.at[code, "name"],
            "district_name": units.at[code, "district_name"] or None,
            "old_area": units.at[code, "old_area"],
        }
        for c in counts:
            rec[c] = int(sum(r.counts[c] for r in group))
        rec["source_rows"] = ", ".join(str(r.i + 1) for r in group)
        records.append(rec)
    base = ["commune_code", "vintage", "review_year", "name", "district_name", "old_area"]
    table = pd.DataFrame(records, columns=base + counts + ["source_rows"])
    for c in counts:
        table[c] = table[c].astype("int64")
    for rate, (num, den) in crosswalk.RATES.items():
        if num in table.columns and den in table.columns:
            share = table[num] / table[den].where(table[den] > 0)
            table.insert(table.columns.get_loc("source_rows"), rate, share.astype(float))
    matched = [r for group in placed.values() for r in group]
    matches = pd.DataFrame(
        [
            {
                "row": r.i + 1,
                "label": r.label,
                "district": r.district_label,
                "commune_code": r.match.commune_code,
                "name": matcher.names[r.match.commune_code],
                "method": r.match.method,
                "score": r.match.score,
                "note": r.match.note,
            }
            for r in sorted(matched, key=lambda r: r.i)
        ],
        columns=["row", "label", "district", "commune_code", "name", "method", "score", "note"],
    )
    unplaced = pd.DataFrame(
        [
            {
                "row": r.i + 1,
                "label": r.label,
                "district": r.district_label,
                **r.counts,
                "reason": r.match.note,
                "suggestions": "; ".join(
                    f"{c} {n} ({d}) {s:.2f}" if d else f"{c} {n} {s:.2f}" for c, n, d, s in r.match.suggestions
                ),
            }
            for r in rows
            if r.outcome == "unplaced"
        ],
        columns=["row", "label", "district", *counts, "reason", "suggestions"],
    )
    for row in rows:
        if not row.outcome:
            row.outcome = "checked, dropped" if row.kind in ("total", "province", "district", "subtotal") else "read"
    ledger = pd.DataFrame(
        [
            (
                r.i + 1,
                r.kind,
                r.label,
                r.district_label,
                r.outcome,
                r.match.commune_code if r.match is not None else None,
            )
            for r in rows
        ],
        columns=_ROW_COLUMNS,
    )
    placed_rows = int(ledger["outcome"].str.startswith("placed").sum())
    if placed_rows != len(matches) or len(unplaced) != int((ledger["outcome"] == "unplaced").sum()):
        raise AssertionError(f"{grid.path}: rows placed or unplaced do not reconcile with the rows read")
    columns = pd.DataFrame(
        [
            (column_letter(j), t, next((f for f, c in header.columns.items() if c == j), None))
            for j, t in enumerate(header.titles)
            if t or j in header.columns.values()
        ],
        columns=["column", "title", "field"],
    )
    totals = pd.DataFrame(checked, columns=["row", "label", "kind", "column", "stated", "computed", "n_rows"])
    return PublishedTable(
        grid.path,
        grid.sheet,
        review_year,
        source,
        matcher.vintage,
        table,
        matches,
        unplaced,
        totals,
        ledger,
        columns,
        blank,
        notes,
    )
