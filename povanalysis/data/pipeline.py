"""From raw review files to processed tables: validate, classify, aggregate, write."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd

from .. import config
from ..common.files import atomic_write_text
from ..measure.aggregates import poverty_counts
from ..measure.standards import classify, deprivation_count, get_standard, standard_for_review
from . import io, registry, villages
from .schema import ETHNIC_MAJORITY

__all__ = [
    "classify_panel",
    "process",
    "ensure_demo_data",
    "load_classified",
    "load_commune_year",
    "load_villages",
]

DEFAULT_SEED = 2021


def classify_panel(households: pd.DataFrame, *, standards: Mapping[int, str] | None = None) -> pd.DataFrame:
    """Classify every household-year under the standard its review year uses.

    Adds ``standard``, ``deprivations`` (count under that standard), ``poverty_class``,
    ``minority`` and ``old_area`` (from the commune registry).  ``standards`` maps review
    years to standard keys (default :data:`povanalysis.measure.standards.DEFAULT_STANDARD_BY_REVIEW`).

    Examples
    --------
    >>> from povanalysis.data import synth
    >>> hh = synth.generate(seed=3, scale=0.005).households
    >>> out = classify_panel(hh)
    >>> out.groupby("review_year")["standard"].first().tolist()
    ['2022-2025', '2022-2025', '2022-2025', '2022-2025', '2022-2025']
    """
    parts = []
    for year, group in households.groupby("review_year", sort=True):
        key = standard_for_review(year, mapping=standards)
        std = get_standard(key)
        part = group.copy()
        part["standard"] = key
        part["deprivations"] = deprivation_count(group, standard=std).astype("int8")
        part["poverty_class"] = classify(group, standard=std)
        parts.append(part)
    out = pd.concat(parts).loc[households.index]
    out["minority"] = out["ethnicity"] != ETHNIC_MAJORITY
    areas = registry.units().set_index("commune_code")["old_area"]
    out["old_area"] = out["commune_code"].map(areas)
    return out


def process(data_root: Path | None = None) -> dict[str, Path]:
    """Read ``raw/``, validate, classify and write the processed tables to ``processed/``.

    Writes ``households_classified.parquet`` (one row per household-year, internal:
    it keeps household identifiers and is never published), ``loans.parquet`` (the loan
    records validated against the household file, internal too), and aggregate tables:
    ``commune_year.parquet`` (counts and rates by commune and review year), ``groups_year.parquet`` (the same by
    review year for the province, each old area, rural/urban, ethnic minority and each
    ethnicity: ``dimension`` and ``group`` columns) and ``indicators_commune_year.parquet``
    (Alkire–Foster H, A, M0, censored headcounts and contributions, and FGT0–2 of income
    against the official line, with standard errors, by commune and review year).

    When ``raw/villages.parquet`` is present (one row per household: ``household_id``,
    ``commune_code``, ``village_code``, ``village_name``), it is checked within its communes and
    against the review file (:func:`povanalysis.data.villages.read_villages`) and written to
    ``villages.parquet`` (internal: it holds household identifiers); without it no village
    table is written and a stale one is removed, so :func:`load_villages` gives None.
    """
    root = Path(data_root) if data_root else config.data_dir()
    raw, processed = root / "raw", root / "processed"
    households = io.read_households(raw / "households.parquet")
    loans = io.read_loans(raw / "loans.parquet", households=households)
    classified = classify_panel(households)
    processed.mkdir(parents=True, exist_ok=True)
    out = {
        "households_classified": processed / "households_classified.parquet",
        "commune_year": processed / "commune_year.parquet",
    }
    frame = classified.assign(poverty_class=classified["poverty_class"].astype(str))
    io.write_parquet(frame.reset_index(drop=True), out["households_classified"])
    table = poverty_counts(classified, by=("commune_code", "review_year"))
    units = registry.units().set_index("commune_code")[["name", "name_ascii", "unit_type", "old_area"]]
    table = table.join(units, on="commune_code")
    io.write_parquet(table, out["commune_year"])
    out["loans"] = processed / "loans.parquet"
    io.write_parquet(loans.reset_index(drop=True), out["loans"])
    out["groups_year"] = processed / "groups_year.parquet"
    io.write_parquet(group_table(classified), out["groups_year"])
    out["indicators_commune_year"] = processed / "indicators_commune_year.parquet"
    io.write_parquet(indicator_table(classified), out["indicators_commune_year"])
    village_file = processed / "villages.parquet"
    if (raw / "villages.parquet").exists():
        out["villages"] = village_file
        io.write_parquet(villages.read_villages(raw / "villages.parquet", households=households), village_file)
    else:
        village_file.unlink(missing_ok=True)
    return out


def group_table(classified: pd.DataFrame) -> pd.DataFrame:
    """Counts and rates by review year for the province and for each group of each dimension."""
    parts = []
    for dimension in ("province", "old_area", "area", "minority", "ethnicity"):
        if dimension == "province":
            t = poverty_counts(classified.assign(group="province"), by=["review_year", "group"])
        else:
            t = poverty_counts(classified.assign(group=classified[dimension].astype(str)), by=["review_year", "group"])
        parts.append(t.assign(dimension=dimension))
    out = pd.concat(parts, ignore_index=True)
    return out[["dimension", "group"] + [c for c in out.columns if c not in ("dimension", "group")]]


def indicator_table(classified: pd.DataFrame) -> pd.DataFrame:
    """Alkire–Foster and FGT measures by commune and review year, each year under its own standard."""
    from ..measure.indicators import alkire_foster, fgt

    parts = []
    for key, group in classified.groupby("standard", sort=True):
        std = get_standard(key)
        af = alkire_foster(group, weights=std.weights(), k=std.k, by=["commune_code", "review_year"])
        line = group["area"].map(dict(std.income_line)).astype(float)
        money = fgt(group["income_pc"].astype(float), line=line, by=group[["commune_code", "review_year"]])
        parts += [af.assign(standard=key), money.assign(standard=key)]
    out = pd.concat(parts, ignore_index=True)
    # Totals over all commune-years and shares of that pooled total mean nothing here.
    out = out[out["commune_code"].notna() & out["review_year"].notna() & ~out["measure"].isin(["pop_share", "contrib"])]
    return out.sort_values(
        ["commune_code", "review_year", "measure", "indicator"], kind="stable", na_position="first"
    ).reset_index(drop=True)


def ensure_demo_data(
    data_root: Path | None = None, *, seed: int = DEFAULT_SEED, scale: float = 1.0, force: bool = False
) -> dict[str, Path]:
    """Generate the synthetic raw files if missing (or made with other parameters), then process them."""
    from . import synth

    root = Path(data_root) if data_root else config.data_dir()
    raw = root / "raw"
    record = raw / "generator.json"
    params = {"seed": seed, "scale": scale, "generator": "povanalysis.synth", "version": 1}
    current = json.loads(record.read_text(encoding="utf-8")) if record.exists() else None
    if force or current != params or not (raw / "households.parquet").exists():
        panel = synth.generate(seed=seed, scale=scale)
        synth.write(panel, raw)
        atomic_write_text(record, json.dumps(params, sort_keys=True) + "\n")
        stale = True
    else:
        stale = False
    names = ["households_classified", "commune_year", "loans", "groups_year", "indicators_commune_year"]
    inputs = ["households.parquet", "loans.parquet"]
    if (raw / "villages.parquet").exists():
        names.append("villages")
        inputs.append("villages.parquet")
    expected = {name: root / "processed" / f"{name}.parquet" for name in names}
    newest_input = max((raw / f).stat().st_mtime for f in inputs)
    if stale or any(not p.exists() or p.stat().st_mtime < newest_input for p in expected.values()):
        return process(root)
    return expected


#: The last frame each loader read in this process, with the file it came from: ``loader name →
#: ((resolved path, mtime_ns, size, inode), frame)``.  One frame per loader, so memory stays bounded.
_REMEMBERED: dict[str, tuple[tuple, pd.DataFrame]] = {}
_REMEMBERED_LOCK = threading.Lock()


def _copy_on_write() -> bool:
    """Whether pandas copies shared values before a write (always from pandas 3; an option before)."""
    if int(pd.__version__.split(".")[0]) >= 3:
        return True
    return pd.get_option("mode.copy_on_write") is True


def _remembered(name: str, path: Path, read: Callable[[Path], pd.DataFrame]) -> pd.DataFrame:
    """``read(path)``, or the frame read last time when the file is the same (path, mtime, size, inode).

    Each caller gets a shallow copy: under copy-on-write (always on in pandas 3) a write to it
    (a column assigned, a ``.loc`` set) copies the values it touches first, so the remembered
    frame never changes.  Without copy-on-write nothing is remembered.
    """
    if not _copy_on_write():
        return read(path)
    try:
        resolved = Path(path).resolve()
        st = os.stat(resolved)
    except OSError:  # missing: the reader says so
        return read(path)
    stamp = (str(resolved), st.st_mtime_ns, st.st_size, st.st_ino)
    with _REMEMBERED_LOCK:
        found = _REMEMBERED.get(name)
    if found is not None and found[0] == stamp:
        return found[1].copy(deep=False)
    frame = read(resolved)
    with _REMEMBERED_LOCK:
        _REMEMBERED[name] = (stamp, frame)
    return frame.copy(deep=False)


def load_classified() -> pd.DataFrame:
    """The processed household-year table (internal: it holds household identifiers).

    The table read is remembered within the process while its file is unchanged (path,
    modification time, size); each call returns a copy that can be written to freely.
    """
    return _remembered("classified", config.processed_dir() / "households_classified.parquet", io.read_parquet)


def load_commune_year() -> pd.DataFrame:
    """Counts and rates by commune and review year (remembered as :func:`load_classified` is)."""
    return _remembered("commune_year", config.processed_dir() / "commune_year.parquet", io.read_parquet)


def load_loans() -> pd.DataFrame:
    """The VBSP loan records, validated against the household file by :func:`process`
    (remembered as :func:`load_classified` is)."""
    return _remembered("loans", config.processed_dir() / "loans.parquet", io.read_parquet)


def load_villages() -> pd.DataFrame | None:
    """Each household's village (internal: it holds household identifiers), or None when the data have no villages.

    One row per household: ``household_id``, ``commune_code``, ``village_code``,
    ``village_name`` (and ``distance_km`` for the synthetic panel), as checked by :func:`process`;
    :func:`povanalysis.data.villages.attach_villages` adds them to a household table.
    """
    path = config.processed_dir() / "villages.parquet"
    return io.read_parquet(path) if path.exists() else None


def load_disadvantaged() -> frozenset[str]:
    """Codes of the disadvantaged (Region III) communes from ``raw/disadvantaged_communes.csv``.

    The file is the list a province publishes, one ``commune_code`` per row; an empty set
    when the file is absent.
    """
    path = config.raw_dir() / "disadvantaged_communes.csv"
    if not path.exists():
        return frozenset()
    frame = pd.read_csv(path, dtype=str, encoding="utf-8")
    if "commune_code" not in frame.columns:
        raise io.ValidationError(
            f"{path}: no column 'commune_code' (columns: {list(frame.columns)})", path=path, column="commune_code"
        )
    known = registry.known_codes()
    for i, code in enumerate(frame["commune_code"]):
        if code not in known:
            raise io.ValidationError(
                f"{path}: data row {i + 1} (line {i + 2}), column 'commune_code': {code!r} is not one of the "
                "92 commune codes of vintage 2025",
                path=path,
                row=i + 1,
                column="commune_code",
                value=code,
                problem="unknown commune code",
            )
    return frozenset(frame["commune_code"])


def load_truth() -> dict | None:
    """The synthetic generator's planted parameters (``raw/truth.json``), or None for real data."""
    path = config.raw_dir() / "truth.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def headline_text(first: pd.Series, last: pd.Series, *, lang: str = "vi") -> str:
    """One sentence on the poor-household rate between two review rows of :func:`poverty_counts`.

    Examples
    --------
    >>> a = pd.Series({"review_year": 2021, "poor": 42903, "poor_rate": 0.1029, "households": 416939})
    >>> b = pd.Series({"review_year": 2024, "poor": 23061, "poor_rate": 0.0546, "households": 422363})
    >>> headline_text(a, b, lang="en")
    'Between the 2021 and 2024 reviews the poor-household rate fell from 10.29% (42,903 households) to 5.46% (23,061 households), by 4.83 points.'
    """
    from ..common.labels import check_lang, format_number, format_percent

    check_lang(lang)
    change = 100 * (last["poor_rate"] - first["poor_rate"])
    points = f"{abs(change):.2f}"
    years = (int(first["review_year"]), int(last["review_year"]))
    a = f"{format_percent(first['poor_rate'], lang)} ({format_number(first['poor'], lang)} {'hộ' if lang == 'vi' else 'households'})"
    b = f"{format_percent(last['poor_rate'], lang)} ({format_number(last['poor'], lang)} {'hộ' if lang == 'vi' else 'households'})"
    if lang == "vi":
        verb, to = ("giảm", "xuống") if change < 0 else ("tăng", "lên")
        return (
            f"Giữa kỳ rà soát {years[0]} và {years[1]}, tỷ lệ hộ nghèo {verb} từ {a} {to} {b}, "
            f"{verb} {points.replace('.', ',')} điểm phần trăm."
        )
    verb = "fell" if change < 0 else "rose"
    return f"Between the {years[0]} and {years[1]} reviews the poor-household rate {verb} from {a} to {b}, by {points} points."
