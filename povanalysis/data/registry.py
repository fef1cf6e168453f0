"""The commune-level units of Thai Nguyen province, keyed by (code, vintage), and the 2025 crosswalk."""

from __future__ import annotations

import importlib.util
import json
import numbers
import sqlite3
import unicodedata
from functools import cache
from pathlib import Path

import pandas as pd

__all__ = [
    "VINTAGES",
    "CURRENT_VINTAGE",
    "PROVINCE_CODE",
    "units",
    "crosswalk",
    "known_codes",
    "lookup",
    "unit_code",
    "ascii_name",
    "normalise_name",
    "slug",
]

#: 2025: the 92 units of the merged province (since 1 July 2025, Resolution 1683/NQ-UBTVQH15).
#: 2024: the 280 units of old Thai Nguyen (172) and old Bac Kan (108) before the merger.
VINTAGES: tuple[int, ...] = (2024, 2025)
#: The units in force: the 92 communes and wards since 1 July 2025.  Every look-up defaults to it.
CURRENT_VINTAGE: int = 2025
PROVINCE_CODE = "19"
_OLD_PROVINCES = {"tinhthainguyen": "thai_nguyen", "tinhbackan": "bac_kan"}
_TYPES = {"Phường": "ward", "Xã": "commune", "Thị trấn": "town"}

# One tone-placement convention ("old style": hoà, thuỷ) mapped to the new style used by the
# official 2025 lists (hòa, thủy).  Keys are NFC strings.
# fmt: off
_TONE_PLACEMENT = {
    "oà": "òa", "oá": "óa", "oả": "ỏa", "oã": "õa", "oạ": "ọa",
    "oè": "òe", "oé": "óe", "oẻ": "ỏe", "oẽ": "õe", "oẹ": "ọe",
    "uỳ": "ùy", "uý": "úy", "uỷ": "ủy", "uỹ": "ũy", "uỵ": "ụy",
}
# fmt: on


def normalise_name(name: str) -> str:
    """Return ``name`` in NFC with one tone-mark placement, so that spellings from different sources match.

    The old and new conventions differ only in open syllables ending in *oa*, *oe* or *uy*
    ("Hoá"/"Hóa", "Thuỵ"/"Thụy"); closed syllables such as "Hoàng" or "Quỳnh" are left alone.

    Examples
    --------
    >>> normalise_name("Định Hoá") == normalise_name("Định Hóa")
    True
    >>> normalise_name("Thuỵ") == "Thụy"
    True
    >>> normalise_name("Phường Hoàng Văn Thụ")
    'Phường Hoàng Văn Thụ'
    """
    text = unicodedata.normalize("NFC", str(name)).strip()
    words = []
    for word in text.split():
        for old, new in _TONE_PLACEMENT.items():
            for o, n in ((old, new), (old.capitalize(), new.capitalize())):
                if word.endswith(o):
                    word = word[: -len(o)] + n
        words.append(word)
    return " ".join(words)


def ascii_name(name: str) -> str:
    """Fold a Vietnamese name to ASCII (``đ`` → ``d``, diacritics removed).

    Examples
    --------
    >>> ascii_name("Phường Đức Xuân")
    'Phuong Duc Xuan'
    """
    text = unicodedata.normalize("NFD", str(name)).replace("đ", "d").replace("Đ", "D")
    return "".join(ch for ch in text if unicodedata.category(ch) != "Mn")


def slug(name: str) -> str:
    """A lower-case ASCII slug for file names, made only of ``[a-z0-9-]``.

    Examples
    --------
    >>> slug("Xã Văn Lăng")
    'xa-van-lang'
    """
    folded = ascii_name(name).lower()
    out = "".join(ch if ch.isalnum() and ch.isascii() else "-" for ch in folded)
    return "-".join(part for part in out.split("-") if part)


def dataset_path() -> Path:
    """The data folder of the ``vietnamadminunits`` package (``dataset.db``, ``converter_2025.json``).

    The package is located without being imported (its import compiles many regexes).
    """
    spec = importlib.util.find_spec("vietnamadminunits")
    if spec is None or spec.origin is None:
        raise ImportError("the commune registry needs the 'vietnamadminunits' package: pip install vietnamadminunits")
    return Path(spec.origin).parent / "data"


@cache
def _tables() -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    base = dataset_path()
    with sqlite3.connect(str(base / "dataset.db")) as conn:
        new = pd.read_sql_query(
            "SELECT wardCode, ward, wardShort, wardType, wardLat, wardLon, wardAreaKm2, wardKey "
            "FROM admin_units WHERE provinceCode = ?",
            conn,
            params=(PROVINCE_CODE,),
        )
        old = pd.read_sql_query(
            "SELECT DISTINCT provinceKey, provinceCode, province, districtKey, districtCode, district, "
            "wardKey, wardCode, ward, wardShort, wardType, wardLat, wardLon "
            "FROM admin_units_legacy WHERE provinceKey IN ('tinhthainguyen', 'tinhbackan')",
            conn,
        )
    conv = json.loads((base / "converter_2025.json").read_text(encoding="utf-8"))
    return new, old, conv


@cache
def crosswalk() -> pd.DataFrame:
    """Links from the 280 pre-2025 units to the 92 units of the merged province.

    One row per (old unit, new unit) link: 283 rows, because three old wards (Gia Sàng,
    Cam Giá, Thượng Đình) were split between two new units.  ``relation`` is ``whole`` (the
    old unit went entirely into one new unit), ``split`` (it went into several; figures for
    it need weights, see :mod:`povanalysis.geo.boundaries.crosswalk`) or ``unchanged`` (same code, name and
    territory).  Built from the ``vietnamadminunits`` package (MIT), which follows Decision
    19/2025/QĐ-TTg and the statistics office's conversion table.

    Examples
    --------
    >>> cw = crosswalk()
    >>> len(cw), cw["old_code"].nunique(), cw["new_code"].nunique()
    (283, 280, 92)
    >>> sorted(cw.loc[cw["relation"] == "split", "old_name"].unique())
    ['Phường Cam Giá', 'Phường Gia Sàng', 'Xã Thượng Đình']
    """
    new, old, conv = _tables()
    old = old.assign(legacy_key=old["provinceKey"] + "_" + old["districtKey"] + "_" + old["wardKey"])
    by_legacy = old.set_index("legacy_key")
    new_by_key = new.set_index("wardKey")
    rows = []
    whole = conv["DICT_PROVINCE_WARD_NO_DIVIDED"]["tinhthainguyen"]
    for new_key, legacy_keys in whole.items():
        for key in legacy_keys:
            rows.append((key, new_key, "whole", True))
    divided = conv["DICT_PROVINCE_WARD_DIVIDED"].get("tinhthainguyen", {})
    for key, targets in divided.items():
        for target in targets:
            rows.append((key, target["newWardKey"], "split", bool(target["isDefaultNewWard"])))
    links = pd.DataFrame(rows, columns=["legacy_key", "new_key", "relation", "default_target"])
    missing = set(links["legacy_key"]) - set(by_legacy.index)
    if missing:
        raise RuntimeError(f"vietnamadminunits: crosswalk keys without a pre-2025 unit: {sorted(missing)[:5]}")
    o = by_legacy.loc[links["legacy_key"]].reset_index(drop=True)
    n = new_by_key.loc[links["new_key"]].reset_index(drop=True)
    out = pd.DataFrame(
        {
            "old_code": o["wardCode"].to_numpy(),
            "old_name": [normalise_name(f"{t} {s}") for t, s in zip(o["wardType"], o["wardShort"])],
            "old_district_code": o["districtCode"].to_numpy(),
            "old_district_name": [normalise_name(x) for x in o["district"]],
            "old_province": o["provinceKey"].map(_OLD_PROVINCES).to_numpy(),
            "new_code": n["wardCode"].to_numpy(),
            "new_name": [normalise_name(x) for x in n["ward"]],
            "relation": links["relation"].to_numpy(),
            "default_target": links["default_target"].to_numpy(),
        }
    )
    same = (out["old_code"] == out["new_code"]) & (out["old_name"] == out["new_name"])
    single = out.groupby("new_code")["old_code"].transform("size") == 1
    out.loc[same & single & (out["relation"] == "whole"), "relation"] = "unchanged"
    out["n_new_targets"] = out.groupby("old_code")["new_code"].transform("size").astype("int64")
    return out.sort_values(["new_code", "old_code"], kind="stable").reset_index(drop=True)


@cache
def _units(vintage: int) -> pd.DataFrame:
    new, old, _ = _tables()
    if vintage == 2025:
        cw = crosswalk()
        preds = cw.groupby("new_code").agg(
            predecessor_codes=("old_code", tuple),
            predecessor_names=("old_name", tuple),
            predecessor_districts=("old_district_name", lambda s: tuple(dict.fromkeys(s))),
            old_provinces=("old_province", lambda s: tuple(sorted(set(s)))),
        )
        frame = pd.DataFrame(
            {
                "commune_code": new["wardCode"],
                "vintage": 2025,
                "name": [normalise_name(x) for x in new["ward"]],
                "short_name": [normalise_name(x) for x in new["wardShort"]],
                "unit_type": new["wardType"].map(_TYPES),
                "lat": new["wardLat"].astype(float),
                "lon": new["wardLon"].astype(float),
                "area_km2": new["wardAreaKm2"].astype(float),
            }
        ).join(preds, on="commune_code")
        frame["old_area"] = [p[0] if len(p) == 1 else "mixed" for p in frame["old_provinces"]]
        frame["from_bac_kan"] = frame["old_area"].eq("bac_kan")
        frame = frame.drop(columns="old_provinces")
    elif vintage == 2024:
        frame = pd.DataFrame(
            {
                "commune_code": old["wardCode"],
                "vintage": 2024,
                "name": [normalise_name(f"{t} {s}") for t, s in zip(old["wardType"], old["wardShort"])],
                "short_name": [normalise_name(x) for x in old["wardShort"]],
                "unit_type": old["wardType"].map(_TYPES),
                "lat": old["wardLat"].astype(float),
                "lon": old["wardLon"].astype(float),
                "district_code": old["districtCode"],
                "district_name": [normalise_name(x) for x in old["district"]],
                "old_area": old["provinceKey"].map(_OLD_PROVINCES),
            }
        )
        frame["from_bac_kan"] = frame["old_area"].eq("bac_kan")
    else:
        raise ValueError(f"vintage must be one of {VINTAGES}, got {vintage!r}")
    if frame["unit_type"].isna().any():
        bad = frame.loc[frame["unit_type"].isna(), "name"].iloc[0]
        raise RuntimeError(f"vietnamadminunits: unknown unit type for {bad!r}")
    frame.insert(3, "name_ascii", [ascii_name(x) for x in frame["name"]])
    frame["slug"] = [f"{c}-{slug(n)}" for c, n in zip(frame["commune_code"], frame["name"])]
    return frame.sort_values("commune_code", kind="stable").reset_index(drop=True)


def units(vintage: int = CURRENT_VINTAGE) -> pd.DataFrame:
    """The commune-level units of one vintage, one row each, keyed by ``(commune_code, vintage)``.

    Codes are reused across vintages (every 2025 code is also the code of some pre-2025
    unit, often with another name), so never join tables of different vintages on the
    code alone.

    Parameters
    ----------
    vintage : {2025, 2024}
        2025 for the 92 units of the merged province (77 communes, 15 wards), 2024 for the
        280 units of old Thai Nguyen and old Bac Kan.

    Returns
    -------
    DataFrame
        ``commune_code`` (5-digit official code), ``vintage``, ``name`` (Vietnamese, NFC),
        ``name_ascii``, ``short_name``, ``unit_type`` (``ward``/``commune``/``town``), ``lat``,
        ``lon``, ``old_area`` (``thai_nguyen``/``bac_kan``), ``from_bac_kan``, ``slug``; for
        2025 also ``area_km2`` and the predecessors, for 2024 the old district.

    References
    ----------
    Resolution 1683/NQ-UBTVQH15 (16/06/2025) on the commune-level units of Thai Nguyen.

    Examples
    --------
    >>> u = units()
    >>> len(u), u["unit_type"].value_counts().to_dict()
    (92, {'commune': 77, 'ward': 15})
    >>> u.set_index("commune_code").loc["01840", ["name", "name_ascii"]].tolist()
    ['Phường Đức Xuân', 'Phuong Duc Xuan']
    """
    return _units(int(vintage)).copy()


@cache
def known_codes(vintage: int = CURRENT_VINTAGE) -> frozenset[str]:
    """The set of valid commune codes of one vintage.

    Examples
    --------
    >>> "01840" in known_codes(), len(known_codes(2024))
    (True, 280)
    """
    return frozenset(_units(int(vintage))["commune_code"])


def lookup(code: str, *, vintage: int = CURRENT_VINTAGE) -> pd.Series:
    """One unit's row; a clear error for a code that does not exist in that vintage.

    Examples
    --------
    >>> lookup("05665")["name"]
    'Xã Văn Lăng'
    """
    frame = _units(int(vintage))
    hit = frame.loc[frame["commune_code"] == str(code)]
    if hit.empty:
        raise KeyError(f"commune code {code!r} is not a unit of vintage {vintage} (92 units in 2025, 280 in 2024)")
    return hit.iloc[0].copy()


def _near(code: str, vintage: int, n: int = 3) -> str:
    """The ``n`` known codes numerically nearest to a string of digits, with their names."""
    frame = _units(int(vintage))
    distance = (frame["commune_code"].astype(int) - int(code)).abs()
    rows = frame.assign(distance=distance).sort_values(["distance", "commune_code"], kind="stable").head(n)
    return ", ".join(f"{c!r} {name}" for c, name in zip(rows["commune_code"], rows["name"]))


def unit_code(value: str | int, *, vintage: int = CURRENT_VINTAGE) -> str:
    """The 5-character code of a unit as a user typed it: a string, or a number that lost its leading zero.

    Papermill reads ``-p commune_code 01840`` as the integer 1840, and spreadsheets store
    codes as numbers; both are zero-padded to 5 digits (as is a string of fewer digits)
    and checked against the registry of ``vintage``.

    Parameters
    ----------
    value : str or int
        ``"01840"``, ``1840`` or ``"1840"``; surrounding spaces are ignored.
    vintage : {2025, 2024}
        Registry the code must belong to.

    Returns
    -------
    str
        The official 5-digit code.

    Raises
    ------
    ValueError
        Neither digits nor an integer (a float or a bool included), more than 5 digits, or
        no unit of ``vintage``: the message names the value and the nearest known codes.

    Examples
    --------
    >>> unit_code(1840), unit_code("01840"), unit_code(" 5665 ")
    ('01840', '01840', '05665')
    >>> unit_code(1841)
    Traceback (most recent call last):
    ...
    ValueError: commune code 1841 ('01841') is not a unit of Thai Nguyen (vintage 2025, 92 units); nearest codes: '01840' Phường Đức Xuân, '01843' Phường Bắc Kạn, '01849' Xã Phong Quang
    >>> unit_code("Đức Xuân")
    Traceback (most recent call last):
    ...
    ValueError: commune code must be 5 digits such as '01840' (an integer such as 1840 is zero-padded), got 'Đức Xuân'
    """
    frame = _units(int(vintage))
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        number = int(value)
        text = str(number) if number >= 0 else ""
    elif isinstance(value, str):
        text = value.strip()
    else:
        text = ""
    if not (text.isascii() and text.isdigit()) or len(text) > 5:
        raise ValueError(
            f"commune code must be 5 digits such as '01840' (an integer such as 1840 is zero-padded), got {value!r}"
        )
    code = text.zfill(5)
    if code not in known_codes(int(vintage)):
        shown = repr(value) if code == value else f"{value!r} ({code!r})"
        raise ValueError(
            f"commune code {shown} is not a unit of Thai Nguyen (vintage {int(vintage)}, {len(frame)} units); "
            f"nearest codes: {_near(code, vintage)}"
        )
    return code
