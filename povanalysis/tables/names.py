"""Unit names as a published annex writes them, matched to the registry's pre-2025 units within their district.

An annex names communes with or without their prefix ("Xã", "Phường", "Thị trấn", "TT."),
with the old or the new tone placement ("Hoà"/"Hòa"), sometimes without diacritics and
sometimes misspelt, and never gives a code.  A label is first read for what it is
(:func:`parse_label`: a total, an old province, a district, a subtotal or a commune), then
a commune label is matched (:class:`Matcher`), in this order:

``exact``
    the label is the registry's name, character for character;
``normalised``
    equal once both are in NFC with one tone placement, without the unit prefix, in lower
    case and with single spaces (:func:`name_key`); the unit type may differ (a commune
    that became a ward keeps its name);
``ascii``
    equal once the diacritics are also removed, and unique among the candidates;
``fuzzy``
    the closest candidate by :func:`similarity` scores at least :data:`MATCH_THRESHOLD`
    and leads the next one by at least :data:`MATCH_MARGIN`;
``alias``
    the caller said which unit the label stands for (a unit merged away before 2025).

Candidates are the units of the row's district when the district is known (two wards
named Trung Thành lie in two districts); a name found in no other way is looked for in the
whole province, and accepted there only when it is unique (the row's note says so).
"""

from __future__ import annotations

import difflib
import re
import sqlite3
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache

import pandas as pd

from ..data import registry
from ..data.registry import ascii_name, normalise_name

__all__ = [
    "MATCH_THRESHOLD",
    "MATCH_MARGIN",
    "Label",
    "Match",
    "Matcher",
    "name_key",
    "parse_label",
    "similarity",
]

#: Lowest :func:`similarity` a fuzzy match is accepted at: one missing, extra or wrong letter in a
#: name of seven letters or more (most names) scores 0.86 to 0.95.
MATCH_THRESHOLD = 0.85
#: Lead the best fuzzy candidate must have over the second, or the label is left unplaced.
MATCH_MARGIN = 0.05

# Prefixes, written on a lower-case NFC key.  Abbreviations take their dot or a space.
_COMMUNE_PREFIXES = (
    ("thị trấn", "town"),
    ("thi tran", "town"),
    ("t.trấn", "town"),
    ("t.t.", "town"),
    ("tt.", "town"),
    ("tt", "town"),
    ("phường", "ward"),
    ("phuong", "ward"),
    ("p.", "ward"),
    ("xã", "commune"),
    ("xa", "commune"),
    ("x.", "commune"),
)
_DISTRICT_PREFIXES = (
    "thành phố",
    "thanh pho",
    "tp.",
    "tp",
    "t.p.",
    "thị xã",
    "thi xa",
    "tx.",
    "tx",
    "huyện",
    "huyen",
    "h.",
    "quận",
)
_PROVINCE_PREFIXES = ("tỉnh", "tinh")
_TOTALS = ("tổng cộng", "tổng số", "toàn tỉnh", "tổng", "cộng toàn tỉnh", "tổng toàn tỉnh")
_TOTAL_STARTS = ("tổng cộng", "toàn tỉnh")
_SUBTOTAL = "cộng"
_BREAKDOWNS = ("trong đó", "thành thị", "nông thôn", "khu vực thành thị", "khu vực nông thôn")
_LEADING_NUMBER = re.compile(r"^\s*(?:[0-9]+(?:\.[0-9]+)*|[ivxlc]+|[a-z])\s*[.)/:-]\s+", re.IGNORECASE)
_PUNCTUATION = re.compile(r"[^\w\s.]")


@lru_cache(maxsize=1 << 16)
def name_key(text: str) -> str:
    """A name as compared: NFC, one tone placement, lower case, no punctuation, single spaces.

    Examples
    --------
    >>> name_key("  Xã  Định Hoá ") == name_key("xã định hóa")
    True
    >>> name_key("Nà Phặc,")
    'nà phặc'
    """
    text = normalise_name(unicodedata.normalize("NFC", str(text)))
    text = _PUNCTUATION.sub(" ", text.casefold()).replace(".", " ")
    return " ".join(text.split())


def _ascii_key(key: str) -> str:
    return ascii_name(key)


def similarity(a: str, b: str) -> float:
    """How alike a name key ``a`` (as written) is to a registry key ``b``, from 0 to 1.

    The mean of difflib's ratio with and without diacritics: counting the letters alone
    forgives a missing tone mark; counting the diacritics too keeps apart names whose ASCII
    forms coincide (Văn Lang and Văn Lăng score 0.94, not 1).  A name written entirely
    without diacritics is compared without them (they are absent, not wrong).  Two communes
    of one district score up to 0.89 (Tân Thành and Tân Thịnh), so a fuzzy match also needs a
    lead of :data:`MATCH_MARGIN` over the next candidate.

    Examples
    --------
    >>> round(similarity("tân cươn", "tân cương"), 3), round(similarity("tan cuon", "tân cương"), 3)
    (0.941, 0.941)
    >>> round(similarity("văn lang", "văn lăng"), 3), round(similarity("tân thành", "tân thịnh"), 3)
    (0.938, 0.889)
    """
    plain = difflib.SequenceMatcher(None, _ascii_key(a), _ascii_key(b), autojunk=False).ratio()
    if a.isascii():
        return plain
    marked = difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()
    return (plain + marked) / 2


def _strip_prefix(key: str, prefixes) -> tuple[str | None, str]:
    for item in prefixes:
        prefix, kind = item if isinstance(item, tuple) else (item, item)
        if key.startswith(prefix) and len(key) > len(prefix):
            rest = key[len(prefix) :]
            if prefix.endswith(".") or rest.startswith(" "):
                return kind, rest.strip(" .")
    return None, key


@dataclass(frozen=True)
class Label:
    """What a row's name says it is.

    ``kind`` is ``total``, ``province``, ``district``, ``subtotal``, ``breakdown`` (rows such as
    "Trong đó", "Thành thị") or ``commune``; ``unit_type`` the commune prefix it carried
    (``commune``, ``ward``, ``town`` or None); ``bare`` the name key without prefix.
    """

    text: str
    kind: str
    bare: str
    unit_type: str | None = None


def parse_label(text: str, *, bare_districts: bool = True) -> Label:
    """Read a row's name: a total, an old province, a district, a subtotal or a commune.

    A leading row number ("1.", "II.", "a)") is removed first.  A bare name that is the
    name of a pre-2025 district ("Định Hóa") is that district: no pre-2025 commune bears a
    district's name.  Since 2025 communes do (Xã Định Hóa): pass ``bare_districts=False``
    for a table of the 2025 units.

    Examples
    --------
    >>> [parse_label(t).kind for t in ["Tổng cộng", "TOÀN TỈNH", "Huyện Định Hoá", "TP. Sông Công",
    ...                                "Định Hóa", "Cộng", "Tỉnh Bắc Kạn", "TT. Chợ Chu", "Trong đó:"]]
    ['total', 'total', 'district', 'district', 'district', 'subtotal', 'province', 'commune', 'breakdown']
    >>> parse_label("2. TT. Chợ Chu")
    Label(text='2. TT. Chợ Chu', kind='commune', bare='chợ chu', unit_type='town')
    >>> parse_label("Thi tran Hung Son").bare, parse_label("Xã Quân Chu").kind
    ('hung son', 'commune')
    >>> parse_label("Định Hóa", bare_districts=False).kind
    'commune'
    """
    raw = str(text)
    key = name_key(_LEADING_NUMBER.sub("", unicodedata.normalize("NFC", raw)).replace(":", " "))
    key_dots = " ".join(_PUNCTUATION.sub(" ", normalise_name(_LEADING_NUMBER.sub("", raw)).casefold()).split())
    # A label without diacritics is compared without them; one with them, with them (Cộng is not Công).
    fold = _ascii_key if key.isascii() else str
    if key in {fold(t) for t in _TOTALS} or key.startswith(tuple(fold(t) for t in _TOTAL_STARTS)):
        return Label(raw, "total", key)
    if key == fold(_SUBTOTAL) or key.startswith(fold(_SUBTOTAL) + " "):
        return Label(raw, "subtotal", key)
    if key.startswith(tuple(fold(t) for t in _BREAKDOWNS)):
        return Label(raw, "breakdown", key)
    kind, bare = _strip_prefix(key_dots, _PROVINCE_PREFIXES)
    if kind is not None and name_key(bare) in _province_keys():
        return Label(raw, "province", name_key(bare))
    kind, bare = _strip_prefix(key_dots, _DISTRICT_PREFIXES)
    if kind is not None:
        return Label(raw, "district", name_key(bare))
    if bare_districts and (key in _district_keys() or _ascii_key(key) in _district_ascii_keys()):
        return Label(raw, "district", key)
    kind, bare = _strip_prefix(key_dots, _COMMUNE_PREFIXES)
    return Label(raw, "commune", name_key(bare), kind)


@cache
def _district_keys() -> frozenset[str]:
    names = registry.units(2024)["district_name"].unique()
    return frozenset(_strip_prefix(name_key(n), _DISTRICT_PREFIXES)[1] for n in names)


@cache
def _district_ascii_keys() -> frozenset[str]:
    return frozenset(_ascii_key(k) for k in _district_keys())


@cache
def _province_keys() -> frozenset[str]:
    with sqlite3.connect(str(registry.dataset_path() / "dataset.db")) as conn:
        rows = conn.execute("SELECT DISTINCT provinceShort FROM admin_units_legacy").fetchall()
    keys = {name_key(r[0]) for r in rows}
    return frozenset(keys | {_ascii_key(k) for k in keys})


@cache
def _elsewhere() -> tuple[dict[str, list[tuple[str, str, str]]], dict[str, list[tuple[str, str]]]]:
    """Units and districts of the other 61 provinces (pre-2025): key → [(name, district, province)]."""
    with sqlite3.connect(str(registry.dataset_path() / "dataset.db")) as conn:
        rows = conn.execute(
            "SELECT DISTINCT ward, wardShort, district, districtShort, province FROM admin_units_legacy "
            "WHERE provinceKey NOT IN ('tinhthainguyen', 'tinhbackan')"
        ).fetchall()
    wards: dict[str, list[tuple[str, str, str]]] = {}
    districts: dict[str, list[tuple[str, str]]] = {}
    for ward, short, district, district_short, province in rows:
        if ward and short:
            wards.setdefault(name_key(short), []).append((normalise_name(ward), normalise_name(district), province))
        entry = (normalise_name(district), province)
        bucket = districts.setdefault(name_key(district_short), [])
        if entry not in bucket:
            bucket.append(entry)
    return wards, districts


@dataclass(frozen=True)
class Match:
    """The outcome of matching one label.

    ``commune_code`` is None when the label is left unplaced; ``suggestions`` holds the best
    three candidates as ``(code, name, district, score)`` of an unplaced or fuzzy-matched
    label; ``elsewhere`` names units of other provinces bearing that name, when the label
    matched nothing here.
    """

    label: str
    commune_code: str | None
    method: str | None
    score: float | None
    note: str = ""
    suggestions: tuple[tuple[str, str, str, float], ...] = ()
    elsewhere: tuple[str, ...] = field(default=())


class Matcher:
    """Matches labels to the units of one vintage of the registry.

    Parameters
    ----------
    vintage : {2024, 2025}
        2024: the 280 units of old Thai Nguyen and old Bac Kan, with their districts; 2025: the
        92 units of the merged province (no districts).
    threshold, margin : float
        The fuzzy rule (:data:`MATCH_THRESHOLD`, :data:`MATCH_MARGIN`).
    aliases : mapping of str to str, optional
        Labels (any spelling: compared by :func:`name_key` without prefix) → unit codes.

    Examples
    --------
    >>> m = Matcher(2024)
    >>> d = m.district("Thị xã Phổ Yên")
    >>> d
    '172'
    >>> [(x.commune_code, x.method) for x in (m.commune("Trung Thành", d), m.commune("Phường Trung Thành", "164"))]
    [('05899', 'normalised'), ('05476', 'exact')]
    >>> hit = m.commune("Tân Cươn", "164")
    >>> hit.commune_code, hit.method, round(hit.score, 3)
    ('05503', 'fuzzy', 0.941)
    >>> miss = m.commune("Xã Hồng Thái", "164")
    >>> miss.commune_code, miss.elsewhere[0]
    (None, 'Xã Hồng Thái, Huyện Phú Xuyên, Thành phố Hà Nội')
    """

    def __init__(
        self,
        vintage: int = 2024,
        *,
        threshold: float = MATCH_THRESHOLD,
        margin: float = MATCH_MARGIN,
        aliases: Mapping[str, str] | None = None,
    ):
        if vintage not in registry.VINTAGES:
            raise ValueError(f"vintage must be one of {registry.VINTAGES}, got {vintage!r}")
        if not 0 < threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], got {threshold!r}")
        if not 0 <= margin < 1:
            raise ValueError(f"margin must be in [0, 1), got {margin!r}")
        self.vintage, self.threshold, self.margin = int(vintage), float(threshold), float(margin)
        units = registry.units(self.vintage)
        if "district_code" not in units.columns:
            units = units.assign(district_code="", district_name="")
        self.units: pd.DataFrame = units.assign(
            key=[name_key(n) for n in units["short_name"]],
            ascii=[_ascii_key(name_key(n)) for n in units["short_name"]],
            full=[name_key(n) for n in units["name"]],
        ).set_index("commune_code", drop=False)
        self.names: dict[str, str] = dict(zip(self.units["commune_code"], self.units["name"]))
        districts = self.units.drop_duplicates("district_code")
        districts = districts[districts["district_code"] != ""]
        self.districts: dict[str, str] = dict(zip(districts["district_code"], districts["district_name"]))
        self._district_keys = {
            code: _strip_prefix(name_key(name), _DISTRICT_PREFIXES)[1] for code, name in self.districts.items()
        }
        # Plain look-ups: a matcher is asked once per row.
        self._rows: dict[str, dict[str, str]] = {
            c: {"name": n, "key": k, "ascii": a, "full": f, "type": t, "district": d, "district_name": dn}
            for c, n, k, a, f, t, d, dn in zip(
                *(self.units[col] for col in ("commune_code", "name", "key", "ascii", "full", "unit_type")),
                self.units["district_code"],
                self.units["district_name"],
            )
        }
        self._all: list[str] = list(self._rows)
        self._by_district: dict[str, list[str]] = {}
        for code, row in self._rows.items():
            self._by_district.setdefault(row["district"], []).append(code)
        known = set(self.names)
        self.aliases: dict[str, str] = {}
        for label, code in (aliases or {}).items():
            code = str(code)
            if code not in known:
                raise ValueError(f"aliases: {label!r} → {code!r} is not a unit code of vintage {self.vintage}")
            self.aliases[parse_label(label).bare] = code

    # ------------------------------------------------------------------ districts

    def district(self, label: str) -> str | None:
        """The code of the pre-2025 district a label names (prefix and district type ignored), or None.

        A misspelt district is accepted by the fuzzy rule.
        """
        key = parse_label(label).bare
        for code, bare in self._district_keys.items():
            if key == bare:
                return code
        for code, bare in self._district_keys.items():
            if _ascii_key(key) == _ascii_key(bare):
                return code
        scored = sorted(((similarity(key, bare), code) for code, bare in self._district_keys.items()), reverse=True)
        if (
            scored
            and scored[0][0] >= self.threshold
            and (len(scored) < 2 or scored[0][0] - scored[1][0] >= self.margin)
        ):
            return scored[0][1]
        return None

    def district_elsewhere(self, label: str) -> tuple[str, ...]:
        """Districts of other provinces that bear the label's name (for a district not found here)."""
        _, districts = _elsewhere()
        return tuple(f"{d}, {p}" for d, p in districts.get(parse_label(label).bare, [])[:3])

    # ------------------------------------------------------------------ communes

    def _pick(self, codes: list[str], unit_type: str | None) -> list[str]:
        if len(codes) > 1 and unit_type is not None:
            same = [c for c in codes if self._rows[c]["type"] == unit_type]
            return same or codes
        return codes

    def commune(self, label: str, district: str | None = None) -> Match:
        """Match one commune label, within ``district`` (a district code of vintage 2024) when given."""
        parsed = parse_label(label, bare_districts=self.vintage < 2025)
        bare, unit_type = parsed.bare, parsed.unit_type
        text = unicodedata.normalize("NFC", str(label)).strip()
        if bare in self.aliases:
            return Match(label, self.aliases[bare], "alias", 1.0)
        rows = self._rows
        scope = self._by_district.get(district, []) if district else self._all
        for where, codes_in in (("district", scope), ("province", self._all)):
            if where == "province" and not district:
                break
            exact = [c for c in codes_in if rows[c]["name"] == text]
            if len(exact) == 1:
                return Match(label, exact[0], "exact", 1.0, self._moved(exact[0], district))
            for method, field_, value in (("normalised", "key", bare), ("ascii", "ascii", _ascii_key(bare))):
                codes = self._pick([c for c in codes_in if rows[c][field_] == value], unit_type)
                if len(codes) == 1:
                    code = codes[0]
                    notes = [self._moved(code, district), self._type_note(code, unit_type)]
                    return Match(label, code, method, 1.0, "; ".join(n for n in notes if n))
                if len(codes) > 1:
                    shown = tuple((c, rows[c]["name"], rows[c]["district_name"], 1.0) for c in codes[:3])
                    return Match(
                        label,
                        None,
                        None,
                        None,
                        f"ambiguous: {len(codes)} units of the {where if district else 'province'} bear this name",
                        shown,
                    )
        # The name without its prefix, or the whole label when a misspelt prefix was not recognised.
        whole = name_key(_LEADING_NUMBER.sub("", text))
        scored = sorted(
            ((max(similarity(bare, rows[c]["key"]), similarity(whole, rows[c]["full"])), c) for c in scope),
            key=lambda t: (-t[0], t[1]),
        )
        suggestions = tuple((c, rows[c]["name"], rows[c]["district_name"], round(s, 3)) for s, c in scored[:3])
        if scored:
            best, code = scored[0]
            second = scored[1][0] if len(scored) > 1 else 0.0
            if best >= self.threshold and best - second >= self.margin:
                return Match(label, code, "fuzzy", best, self._type_note(code, unit_type), suggestions)
        wards, _ = _elsewhere()
        found = [
            w for w in wards.get(bare, []) if unit_type is None or name_key(w[0]).startswith(_type_word(unit_type))
        ]
        elsewhere = tuple(f"{w}, {d}, {p}" for w, d, p in found[:3])
        why = f"no unit of {'the district' if district else 'the province'} scores {self.threshold} or more"
        if scored and scored[0][0] >= self.threshold:
            why = f"two units score within {self.margin} of each other"
        return Match(label, None, None, None, why, suggestions, elsewhere)

    def _moved(self, code: str, district: str | None) -> str:
        here = self._rows[code]["district"]
        if district and here != district:
            return f"listed under {self.districts[district]}; the registry puts it in {self.districts[here]}"
        return ""

    def _type_note(self, code: str, unit_type: str | None) -> str:
        registered = self._rows[code]["type"]
        if unit_type is not None and registered != unit_type:
            return f"written as a {unit_type}, registered as a {registered}"
        return ""


def _type_word(unit_type: str) -> str:
    return {"commune": "xã", "ward": "phường", "town": "thị trấn"}[unit_type]
