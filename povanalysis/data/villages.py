"""Villages (thôn, xóm, bản, tổ dân phố): checking them within their commune, and the synthetic panel's villages.

A village code belongs to one commune and has one name; a household lives in one village.
The synthetic panel (:func:`povanalysis.data.synth.generate`) places its households in villages
with :func:`assign_villages`, from what was already drawn of them and an independent random
stream, so that the rest of the panel is the same with or without villages.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from ..common.checks import require_frame, to_python
from ..measure.standards import deprivation_count, get_standard
from . import registry
from .schema import ETHNIC_MAJORITY, VILLAGE_COLUMNS
from .sources import MAX_SHOWN, ValidationError, file_error, read_source
from .values import parse_columns

__all__ = [
    "VILLAGE_STREAM",
    "VILLAGE_SIZE",
    "VILLAGES_PER_COMMUNE",
    "MIN_VILLAGE_HOUSEHOLDS",
    "check_villages",
    "village_problems",
    "read_villages",
    "attach_villages",
    "assign_villages",
    "intra_village_correlation",
]

#: The extra key of the village stream: villages are drawn from ``SeedSequence(seed, spawn_key=(VILLAGE_STREAM,))``,
#: never from the generator's main stream, so the other columns do not depend on them.
VILLAGE_STREAM = 0x7669_6C6C  # "vill"

#: Households of a village at full scale (uniform between the bounds), by unit type: a rural
#: thôn, xóm or bản holds about 100–300 households, a ward's tổ dân phố about 150–400.  An assumption
#: from the size of villages after the 2019–2025 mergers of small villages, not a published list.
#: The bounds on the count (:data:`VILLAGES_PER_COMMUNE`) come first: a small rural commune of the
#: panel (about 1,000–2,000 households at full scale) has 20 villages of 50–100 households.
VILLAGE_SIZE: dict[str, tuple[int, int]] = {"commune": (100, 300), "ward": (150, 400)}

#: Villages of a unit at full scale (inclusive bounds): rural communes of Thai Nguyen after the
#: 2025 merger have about 20–60 villages; wards 10–120 residential groups (an assumption).
VILLAGES_PER_COMMUNE: dict[str, tuple[int, int]] = {"commune": (20, 60), "ward": (10, 120)}

#: At a reduced scale a village keeps at least this many households on average (fewer villages).
MIN_VILLAGE_HOUSEHOLDS = 5

# Name stems of the synthetic villages: Vietnamese names for the villages where most households
# are Kinh, Tày–Nùng place names (nà: field, khuổi: stream, pác: mouth, phiêng: flat land…) elsewhere.
_KINH_STEMS = (
    "Đồng Tâm", "Tân Lập", "Tân Thành", "Trung Tâm", "Đoàn Kết", "Thống Nhất", "Quyết Tiến", "Tiền Phong",
    "Hợp Tiến", "Liên Hợp", "Đồng Bầu", "Gốc Gạo", "Cầu Đá", "Bãi Bằng", "Làng Mới", "Ao Sen", "Đồng Chùa",
    "Hòa Bình", "An Thịnh", "Phú Lợi", "Thịnh Đức", "Bình Minh", "Đồng Xe", "Làng Cả", "Chợ Cũ", "Đầm Mua",
    "Cây Thị", "Đèo Khế", "Na Hoàng", "Xuân Trường",
)  # fmt: skip
_TAY_PREFIXES = ("Nà", "Khuổi", "Pác", "Phiêng", "Khau", "Cốc", "Bó", "Lủng", "Nặm", "Pò", "Kéo", "Bản")
_TAY_SUFFIXES = (
    "Pục", "Làng", "Đon", "Mằm", "Phai", "Hin", "Cà", "Slải", "Tẩu", "Vạc", "Khe", "Lịn", "Mò", "Chá",
    "Nghiêng", "Dất", "Ngàn", "Vài", "Luông", "Mu", "Cuồng", "Rỉa", "Quang", "Pjạc",
)  # fmt: skip
_MINORITY_VILLAGE = 0.7  # above this share of ethnic-minority households a village has a Tày–Nùng name


# ----------------------------------------------------------------------------- checks


def _reference(keys: np.ndarray, values: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the value most rows of its key carry (ties: the earliest), and the first row that carries it.

    Keys and values are hashed once and the rows sorted: no lookup per row.
    """
    key, _ = pd.factorize(keys)
    value, uniques = pd.factorize(values)
    pos = np.asarray(pos, dtype="int64")
    if not len(key):
        return np.empty(0, dtype=object), pos
    order = np.lexsort((pos, value, key))
    k, v = key[order], value[order]
    starts = np.flatnonzero(np.r_[True, (k[1:] != k[:-1]) | (v[1:] != v[:-1])])
    count = np.diff(np.r_[starts, len(k)])
    run_key, run_value, run_first = k[starts], v[starts], pos[order][starts]
    pick = np.lexsort((run_first, -count, run_key))
    chosen = pick[np.r_[True, run_key[pick][1:] != run_key[pick][:-1]]]  # one run per key, keys in code order
    return np.asarray(uniques, dtype=object)[run_value[chosen]][key], run_first[chosen][key]


def village_problems(
    household: np.ndarray | None,
    commune: np.ndarray,
    code: np.ndarray,
    name: np.ndarray,
    where: Callable[[np.ndarray], list[str]],
) -> list[tuple[int, str, object, str]]:
    """Every problem of the village columns, as ``(position, column, value, problem)`` in row order.

    The arrays hold one value per row (``household`` may be None).  A code and its name come
    together; a village code belongs to the commune and has the name that most of its rows give
    (the earliest of them on a tie), and the rows that say otherwise are the invalid ones; a
    household lives in the village that most of its records give.  ``where`` names rows by
    their positions (e.g. ``row 5 (line 6 of the file)``), for the row each problem is compared with.

    Examples
    --------
    >>> village_problems(None, np.array(["01840"] * 3 + ["01843"]), np.array(["01840-001"] * 4),
    ...                  np.array(["Xóm Na"] * 4), lambda pos: [f"row {p}" for p in pos])
    [(3, 'village_code', '01840-001', "village code in commune '01843', but in commune '01840' at row 0: a village belongs to one commune")]
    """
    commune, code, name = (np.asarray(a, dtype=object) for a in (commune, code, name))
    found: list[tuple[int, str, object, str]] = []
    blank_code = pd.isna(code) | (pd.Series(code, dtype=object).astype(str).str.strip() == "").to_numpy()
    blank_name = pd.isna(name) | (pd.Series(name, dtype=object).astype(str).str.strip() == "").to_numpy()
    for i in np.flatnonzero(blank_code & ~blank_name):
        found.append((int(i), "village_code", code[i], "empty village code for a named village"))
    for i in np.flatnonzero(blank_name & ~blank_code):
        found.append((int(i), "village_name", name[i], "empty village name for a village code"))
    ok = np.flatnonzero(~(blank_code | blank_name))
    codes = pd.Series(code[ok], dtype=object).astype(str).to_numpy(object)
    for column, values in (("village_code", commune[ok]), ("village_name", name[ok])):
        values = np.asarray(values, dtype=object)
        expected, at_pos = _reference(codes, values, ok)
        bad = np.flatnonzero(values != expected)
        for k, at in zip(bad, where(at_pos[bad]) if len(bad) else []):
            i = int(ok[k])
            if column == "village_code":
                problem = (
                    f"village code in commune {commune[i]!r}, but in commune {expected[k]!r} at {at}: "
                    "a village belongs to one commune"
                )
                found.append((i, column, code[i], problem))
            else:
                problem = f"village {code[i]!r} is named {expected[k]!r} at {at}: one name per village code"
                found.append((i, column, name[i], problem))
    if household is not None:
        ids = np.asarray(household[ok], dtype=object)
        expected, _ = _reference(ids, codes, ok)
        for k in np.flatnonzero(codes != expected):
            i = int(ok[k])
            found.append(
                (i, "village_code", code[i], f"household {household[i]!r} is in village {expected[k]!r} elsewhere")
            )
    return sorted(found, key=lambda p: (p[0], p[1]))


def _raise(path, found, where: Callable[[np.ndarray], list[str]], rows: Callable[[int], int]) -> None:
    if not found:
        return
    head = found[:MAX_SHOWN]
    places = where(np.array([p[0] for p in head]))
    lines = "".join(f"\n  {w}, column {c!r}: {p}, got {v!r}" for w, (_, c, v, p) in zip(places, head))
    shown = f" (the first {MAX_SHOWN} shown)" if len(found) > MAX_SHOWN else ""
    n_rows = len({p[0] for p in found})
    message = (
        f"{path}: {len(found):,} invalid village value{'s' if len(found) != 1 else ''} in {n_rows:,} "
        f"row{'s' if n_rows != 1 else ''}{shown}:{lines}"
    )
    problems = pd.DataFrame(
        {
            "row": [rows(p[0]) for p in found],
            "column": [p[1] for p in found],
            "value": [p[2] for p in found],
            "problem": [p[3] for p in found],
        }
    )
    first = found[0]
    raise ValidationError(message, path=path, row=rows(first[0]), column=first[1], value=first[2], problems=problems)


def check_villages(
    frame: pd.DataFrame, *, path: str | os.PathLike = "<households>", name: str = "households"
) -> pd.DataFrame:
    """Check the village columns of a household frame; return it unchanged.

    A frame without ``village_code`` and ``village_name`` passes (villages are optional).  With
    them, every village code belongs to one commune and has one name, a household keeps one
    village across reviews, and a code and its name are both given or both empty.  The rows
    named are those that disagree with what most rows of their code (or household) say
    (:func:`village_problems`).

    Parameters
    ----------
    frame : DataFrame
        ``commune_code``, ``village_code``, ``village_name`` (and ``household_id`` when present),
        e.g. a frame built in code.  :func:`povanalysis.data.io.read_households` makes the
        same checks on a review file with villages, naming the rows of the file.
    path : path-like
        The file the frame was read from, named in the error.
    name : str
        The frame's name in errors about its columns.

    Raises
    ------
    ValidationError
        Naming the file, the row (the frame's index label), the column and the value of each
        problem; ``problems`` lists them all.

    Examples
    --------
    >>> hh = pd.DataFrame({"household_id": ["A", "B"], "commune_code": ["01840", "01843"],
    ...                    "village_code": ["01840-001", "01840-001"], "village_name": ["Xóm Na", "Xóm Na"]})
    >>> check_villages(hh, path="households.csv")
    Traceback (most recent call last):
    ...
    povanalysis.data.sources.ValidationError: households.csv: 1 invalid village value in 1 row:
      row 1, column 'village_code': village code in commune '01843', but in commune '01840' at row 0: a village belongs to one commune, got '01840-001'
    >>> check_villages(hh.drop(columns=["village_code", "village_name"])).shape
    (2, 2)
    """
    present = [c for c in VILLAGE_COLUMNS if c in frame.columns]
    if not present:
        return frame
    if len(present) != len(VILLAGE_COLUMNS):
        missing = [c for c in VILLAGE_COLUMNS if c not in frame.columns]
        raise ValidationError(
            f"{path}: village columns come together: {present} without {missing}",
            path=path,
            column=missing[0],
            problem="the village columns come together",
        )
    require_frame(frame, name, ["commune_code", *VILLAGE_COLUMNS])
    household = frame["household_id"].to_numpy(object) if "household_id" in frame.columns else None
    labels = frame.index.to_numpy()

    def where(pos: np.ndarray) -> list[str]:
        return [f"row {to_python(labels[i])!r}" for i in pos]

    found = village_problems(
        household,
        frame["commune_code"].to_numpy(object),
        frame["village_code"].to_numpy(object),
        frame["village_name"].to_numpy(object),
        where,
    )
    _raise(path, found, where, lambda i: _row_number(labels[i]))
    return frame


def _row_number(label) -> int | None:
    return int(label) if isinstance(label, int | np.integer) else None


def read_villages(
    path: str | os.PathLike, *, households: pd.DataFrame | None = None, vintage: int = registry.CURRENT_VINTAGE
) -> pd.DataFrame:
    """Read and check a village file: one row per household, ``household_id``, ``commune_code``, ``village_code``, ``village_name``.

    Every cell is checked as in the review file (a commune code of the registry, text not
    empty), then the villages within their communes (:func:`check_villages`); with
    ``households``, each household's commune must be its commune in the review file.  Other
    columns are kept.

    Parameters
    ----------
    path : path-like
        CSV, XLSX or Parquet, as :func:`povanalysis.data.io.read_households` reads.
    households : DataFrame, optional
        The review records (``household_id``, ``commune_code``) the villages must agree with.
    vintage : int
        The commune codes the file uses.

    Returns
    -------
    DataFrame
        The file's columns, codes and names as ``str``.

    Raises
    ------
    ValidationError
        Naming the file, the row (as in the review file: data rows from 1, lines of a CSV), the
        column and the value.
    """
    spec = {"household_id": "str", "commune_code": "code5", **VILLAGE_COLUMNS}

    def select(names: list[str]) -> list[str]:
        missing = [c for c in spec if c not in names]
        if missing:
            raise file_error(Path(path), f"missing required column(s) {missing}", column=missing[0])
        return names

    src = read_source(path, select=select)
    parsed, chk = parse_columns(src, spec, list(spec), vintage=vintage)
    found = [(int(r.pos), r.column, r.value, r.problem) for r in chk.frame().itertuples()]
    out = src.data.copy()
    for column in spec:
        out[column] = parsed.columns[column].astype("str").to_numpy()
    if not found:
        found = village_problems(
            out["household_id"].to_numpy(object),
            out["commune_code"].to_numpy(object),
            out["village_code"].to_numpy(object),
            out["village_name"].to_numpy(object),
            lambda pos: src.where(pos).tolist(),
        )
    if not found and households is not None:
        require_frame(households, "households", ["household_id", "commune_code"])
        home = households.drop_duplicates("household_id").set_index("household_id")["commune_code"]
        expected = out["household_id"].map(home).to_numpy(object)
        for i in np.flatnonzero(pd.notna(expected) & (out["commune_code"].to_numpy(object) != expected)):
            found.append(
                (int(i), "commune_code", out["commune_code"].iloc[i],
                 f"household {out['household_id'].iloc[i]!r} is in commune {expected[i]!r} in the review file")
            )  # fmt: skip
    _raise(src.path, found, lambda pos: src.where(pos).tolist(), lambda i: int(src.rows[i]))
    return out.reset_index(drop=True)


def attach_villages(households: pd.DataFrame, villages: pd.DataFrame) -> pd.DataFrame:
    """``households`` with ``village_code`` and ``village_name`` of each household (empty when unknown).

    Examples
    --------
    >>> hh = pd.DataFrame({"household_id": ["A", "B"], "commune_code": ["01840"] * 2})
    >>> v = pd.DataFrame({"household_id": ["A"], "commune_code": ["01840"],
    ...                   "village_code": ["01840-001"], "village_name": ["Xóm Na"]})
    >>> attach_villages(hh, v)["village_name"].tolist()
    ['Xóm Na', '']
    """
    require_frame(households, "households", ["household_id"])
    require_frame(villages, "villages", ["household_id", *VILLAGE_COLUMNS])
    one = villages.drop_duplicates("household_id").set_index("household_id")
    out = households.drop(columns=[c for c in VILLAGE_COLUMNS if c in households.columns]).copy()
    for column in VILLAGE_COLUMNS:
        out[column] = out["household_id"].map(one[column]).fillna("").astype("str").to_numpy()
    return out


# ----------------------------------------------------------------------------- the synthetic villages


def _first_records(households: pd.DataFrame) -> pd.DataFrame:
    order = np.lexsort((households["review_year"].to_numpy(),))
    return households.iloc[order].drop_duplicates("household_id").reset_index(drop=True)


def _village_count(n_households: int, unit_type: str, scale: float, rng: np.random.Generator) -> int:
    lo, hi = VILLAGE_SIZE[unit_type]
    size = rng.uniform(lo, hi)
    vmin, vmax = VILLAGES_PER_COMMUNE[unit_type]
    full = int(np.clip(round(n_households / scale / size), vmin, vmax))
    return max(1, min(full, n_households // MIN_VILLAGE_HOUSEHOLDS))


def _cut(n_items: int, n_groups: int, rng: np.random.Generator) -> np.ndarray:
    """Group of each of ``n_items`` sorted items: ``n_groups`` runs of uneven sizes, none empty."""
    share = rng.gamma(6.0, 1.0, n_groups)
    sizes = 1 + rng.multinomial(n_items - n_groups, share / share.sum())
    return np.repeat(np.arange(n_groups), sizes)


def _names(kind: str, n: int, stems: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Distinct names of ``n`` villages of ``kind``; ``stems`` says, per village, Kinh (0) or Tày–Nùng (1) names."""
    if kind == "Tổ dân phố":
        return [f"Tổ dân phố {k}" for k in rng.permutation(n) + 1]
    kinh = list(rng.permutation(_KINH_STEMS))
    tay = [f"{p} {s}" for p, s in zip(rng.choice(_TAY_PREFIXES, 4 * n), rng.choice(_TAY_SUFFIXES, 4 * n))]
    used: set[str] = set()
    out = []
    for k, tay_name in enumerate(stems):
        pool = tay if tay_name else kinh
        stem = next((s for s in pool if s not in used), None) or f"{k + 1}"
        used.add(stem)
        prefix = "Bản" if tay_name and kind == "Xóm" else kind
        out.append(stem if stem.startswith("Bản ") else f"{prefix} {stem}")
    return out


def assign_villages(
    households: pd.DataFrame,
    *,
    seed: int,
    scale: float = 1.0,
    noise: float = 1.0,
    standard: str = "2022-2025",
) -> pd.DataFrame:
    """Place every household of a synthetic panel in a village of its commune, clustered by ethnicity and poverty.

    The assignment reads only what the panel already holds and draws from its own stream
    (``SeedSequence(seed, spawn_key=(VILLAGE_STREAM,))``), so the households, loans and every
    figure of the panel are the same with or without villages.

    Assumptions (full scale): a rural commune of Thai Nguyen after the 2025 merger has 20 to
    60 villages (thôn, xóm, bản) of about 100 to 300 households; a ward has 10 to 120
    residential groups (tổ dân phố) of about 150 to 400 households; the urban households of a
    commune that took in a former town live in tổ dân phố too (:data:`VILLAGE_SIZE`,
    :data:`VILLAGES_PER_COMMUNE`).  At a reduced ``scale`` a commune has as many villages as at
    full scale but no more than one per :data:`MIN_VILLAGE_HOUSEHOLDS` households.

    How households cluster: at its first review each household gets a score, ethnic minority
    (1) plus the standardised distance below the income line (``-log(income / line)``) and
    deprivation count (weights 0.6 and 0.3), plus a normal noise of standard deviation
    ``noise``; within each commune and area (rural, urban) households are sorted by score and
    cut into villages of uneven sizes.  Neighbours thus share ethnicity and living standards,
    less so as ``noise`` grows.  Each village is "far" in proportion to its mean score:
    ``distance_km`` (to the commune's centre) is drawn log-normal and given to the villages in
    the order of their mean score plus noise.  Names: "Tổ dân phố N" in wards and town areas;
    elsewhere "Xóm" (old Thai Nguyen) or "Thôn" (old Bac Kan) with a Vietnamese name, or a
    Tày–Nùng place name where more than 70% of households are ethnic minorities (a "Bản" in
    old Thai Nguyen: "Bản Nà Mò", a "Thôn" in old Bac Kan: "Thôn Khuổi Khe").  Codes are the
    commune's code and a number in random order (``01840-007``): they say nothing of poverty.

    Parameters
    ----------
    households : DataFrame
        The panel's review records (``household_id``, ``review_year``, ``commune_code``,
        ``area``, ``ethnicity``, ``income_pc`` and the deprivations of ``standard``).
    seed : int
        The panel's seed.
    scale : float
        The panel's scale (share of the province's households).
    noise : float, default 1.0
        Standard deviation of the noise of the score (0: villages sorted by the score alone).
    standard : str
        The standard whose line and deprivations make the score.

    Returns
    -------
    DataFrame
        One row per household: ``household_id``, ``commune_code``, ``village_code``,
        ``village_name``, ``distance_km``; sorted by ``household_id``.

    Examples
    --------
    >>> from povanalysis.data import synth
    >>> panel = synth.generate(seed=3, scale=0.005)
    >>> v = assign_villages(panel.households, seed=3, scale=0.005)
    >>> v.equals(panel.villages), v["household_id"].is_unique
    (True, True)
    """
    if not isinstance(scale, int | float) or isinstance(scale, bool) or not scale > 0:
        raise ValueError(f"'scale' must be a positive number, got {scale!r}")
    std = get_standard(standard)
    require_frame(
        households,
        "households",
        ["household_id", "review_year", "commune_code", "area", "ethnicity", "income_pc", *std.columns],
    )
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(VILLAGE_STREAM,)))
    first = _first_records(households)
    first = first.sort_values("household_id", kind="stable").reset_index(drop=True)
    n = len(first)
    line = first["area"].map(std.income_line).to_numpy(dtype=float)
    gap = -np.log(np.maximum(first["income_pc"].to_numpy(dtype=float), 1.0) / line)
    deps = deprivation_count(first, standard=std).to_numpy(dtype=float)
    minority = (first["ethnicity"] != ETHNIC_MAJORITY).to_numpy()

    def z(x: np.ndarray) -> np.ndarray:
        return (x - x.mean()) / x.std() if n > 1 and x.std() > 0 else np.zeros_like(x)

    score = minority + 0.6 * z(gap) + 0.3 * z(deps) + rng.normal(0, noise, n)
    units = registry.units().set_index("commune_code")
    old_area = units["old_area"]
    unit_type = units["unit_type"]
    codes = np.empty(n, dtype=object)
    names = np.empty(n, dtype=object)
    distance = np.zeros(n)
    commune = first["commune_code"].to_numpy(object)
    urban = (first["area"] == "urban").to_numpy()
    for code in sorted(set(commune)):
        in_commune = np.flatnonzero(commune == code)
        utype = "ward" if unit_type.get(code) == "ward" else "commune"
        total = _village_count(len(in_commune), utype, scale, rng)
        parts = [in_commune[urban[in_commune]], in_commune[~urban[in_commune]]]
        sizes = [len(p) for p in parts]
        if all(sizes):  # a town's urban households in tổ dân phố, the rest in villages
            total = max(total, 2)
            n_urban = int(np.clip(round(total * sizes[0] / len(in_commune)), 1, total - 1))
            counts = [min(n_urban, sizes[0]), min(total - n_urban, sizes[1])]
        else:
            counts = [min(total, s) for s in sizes]
        number = rng.permutation(sum(counts)) + 1
        start = 0
        for part, k, is_urban in zip(parts, counts, (True, False)):
            if not len(part):
                continue
            ordered = part[np.argsort(score[part], kind="stable")]
            group = _cut(len(ordered), k, rng)
            mean_score = np.bincount(group, weights=score[ordered]) / np.bincount(group)
            share_minority = np.bincount(group, weights=minority[ordered]) / np.bincount(group)
            median_km = 1.5 if is_urban else 2.5 + 6.0 * float(old_area.get(code) == "bac_kan")
            km = np.sort(rng.lognormal(np.log(median_km), 0.6, k))
            km_of = np.empty(k)
            km_of[np.argsort(mean_score + rng.normal(0, 0.5, k), kind="stable")] = km
            kind = "Tổ dân phố" if is_urban else ("Thôn" if old_area.get(code) == "bac_kan" else "Xóm")
            village_names = _names(kind, k, share_minority > _MINORITY_VILLAGE, rng)
            village_codes = [f"{code}-{m:03d}" for m in number[start : start + k]]
            codes[ordered] = np.asarray(village_codes, dtype=object)[group]
            names[ordered] = np.asarray(village_names, dtype=object)[group]
            distance[ordered] = km_of[group].round(1)
            start += k
    return pd.DataFrame(
        {
            "household_id": first["household_id"].astype("str").to_numpy(),
            "commune_code": commune.astype(str),
            "village_code": codes.astype(str),
            "village_name": names.astype(str),
            "distance_km": distance,
        }
    )


def intra_village_correlation(
    values: pd.Series | np.ndarray, villages: pd.Series | np.ndarray, communes: pd.Series | np.ndarray
) -> float:
    """The intra-village correlation of a household variable within communes (one-way ANOVA estimator).

    The share of the variance of ``values`` around their commune means that lies between
    villages of the same commune: 0 when villages are random draws from their commune, 1 when
    a village's households are alike.  Estimated as
    ``(MSB - MSW) / (MSB + (n0 - 1) MSW)`` on the commune-demeaned values, with ``n0`` the
    average village size adjusted for unequal sizes and the between-villages degrees of freedom
    net of the communes (Donner 1986).

    References
    ----------
    Donner, A. (1986). A review of inference procedures for the intraclass correlation
    coefficient in the one-way random effects model. *International Statistical Review* 54(1):
    67–82. doi:10.2307/1403259

    Examples
    --------
    >>> round(intra_village_correlation([1, 1, 0, 0, 1, 1, 0, 0], list("aabbccdd"), list("xxxxyyyy")), 3)
    1.0
    >>> round(intra_village_correlation([1, 0, 1, 0, 1, 0, 1, 0], list("aabbccdd"), list("xxxxyyyy")), 3)
    -1.0
    """
    y = np.asarray(values, dtype=float)
    v = pd.Series(np.asarray(villages)).astype(str).to_numpy()
    c = pd.Series(np.asarray(communes)).astype(str).to_numpy()
    frame = pd.DataFrame({"y": y, "v": v, "c": c})
    frame["r"] = frame["y"] - frame.groupby("c")["y"].transform("mean")
    g = frame.groupby("v")["r"]
    size, mean = g.size().to_numpy(float), g.mean().to_numpy(float)
    n, k, m = len(frame), len(size), frame["c"].nunique()
    ss_between = float((size * mean**2).sum())
    ss_within = float(((frame["r"] - g.transform("mean")) ** 2).sum())
    df_between, df_within = k - m, n - k
    if df_between <= 0 or df_within <= 0:
        return float("nan")
    ms_between, ms_within = ss_between / df_between, ss_within / df_within
    n0 = (n - (size**2).sum() / n) / (k - 1)
    return float((ms_between - ms_within) / (ms_between + (n0 - 1) * ms_within))
