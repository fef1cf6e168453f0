"""The province topics as workbook sheets: every table in full, formatted for reading, under the disclosure rule.

:func:`province_sheets` computes the province pages' main tables again, with the settings of
the pages' defaults, and returns one sheet per topic: overview (communes by review year),
credit (every effect of page 02), targets (page 03's commune ranking), targeting (page 04's
priority index), small areas (page 05's estimates) and, when the loans carry their entrusted
organisation, the lending by organisation (page 02's table).  The 2026–2030 outlook and its
backtest come from the package's cache (:func:`povanalysis.common.cache.cached_frame`);
each sheet is the ``sheet`` of a :class:`povanalysis.reports.readable.Readable` (numbers
as numbers rounded as the pages show them, ``< 10`` and ``–`` where the disclosure rule
hides a figure, codes as text), with every row.
"""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pandas as pd

from .. import config
from ..common.cache import cache_folder, cache_key
from ..common.files import atomic_write_text
from ..common.labels import check_lang, label, pick
from ..data import registry
from . import prepare, published
from . import province as page
from .readable import Column, readable

__all__ = [
    "SHEET_NAMES",
    "province_sheets",
    "overview_sheet",
    "credit_sheet",
    "targets_sheet",
    "targeting_sheet",
    "small_area_sheet",
    "channel_sheet",
]

#: Names of the sheets by topic: (Vietnamese, English), at most 31 characters as Excel requires.
SHEET_NAMES = {
    "overview": ("Tổng quan theo xã", "Overview by commune"),
    "credit": ("Tác động tín dụng", "Credit impact"),
    "targets": ("Mục tiêu 2026–2030", "Targets 2026–2030"),
    "targeting": ("Nhắm đối tượng", "Targeting"),
    "small_areas": ("Ước lượng cấp xã", "Small-area estimates"),
    "channels": ("Theo tổ chức nhận ủy thác", "By entrusted organisation"),
}

_FIRST_REVIEW = 2021


def overview_sheet(*, review_year: int, lang: str = "vi") -> pd.DataFrame:
    """Poor and near-poor households and rates by commune and review year, with the old areas and the province.

    Every figure is the one the commune pages, the index and the key-figures sheet publish:
    the disclosure decision taken once for the province
    (:mod:`povanalysis.reports.published`, stored with the prepared tables) is read back,
    never taken again, so no cell is hidden here and shown elsewhere (two decisions on the
    same counts would let a reader combine them).  Counts under the limit read ``< 10``, a
    rate of a hidden count a band (``< 5%``) or ``–``.
    """
    check_lang(lang)
    tables, manifest = prepare.shared_tables()
    areas = tables["area_totals"].assign(commune_code=published.ALL)
    flat = pd.concat(
        [tables["ethnicity"].drop(columns="suppressed"), tables["commune_totals"], areas], ignore_index=True
    )
    decided = published.restore(flat, published.HOUSEHOLDS, min_cell=int(manifest["min_cell"])).for_workbook()
    t = decided[(decided["ethnicity"] == published.ALL) & (decided["review_year"] <= review_year)].copy()
    units = registry.units().set_index("commune_code")
    is_commune = t["commune_code"] != published.ALL
    t["code"] = t["commune_code"].where(is_commune, "")
    t["name"] = t["commune_code"].map(units["name"]).where(is_commune)
    t.loc[~is_commune, "name"] = [label(a, lang) for a in t.loc[~is_commune, "old_area"]]
    t["area"] = [label(a, lang) if a != published.PROVINCE else "" for a in t["old_area"]]
    # communes by code, then the old areas, then the province, within each review
    t["order"] = is_commune.map({True: 0, False: 1}) + (t["old_area"] == published.PROVINCE)
    t = t.sort_values(["review_year", "order", "code", "area"], kind="stable")
    cols = [
        Column("review_year", "Năm rà soát", "Review year", "code"),
        Column("code", "Mã xã", "Commune code", "code"),
        Column("name", "Xã, phường / khu vực", "Commune, ward or area"),
        Column("area", label("old_area", "vi"), label("old_area", "en")),
        Column("households", "Số hộ (hộ)", "Households", "count"),
        Column("poor", "Hộ nghèo (hộ)", "Poor households", "count"),
        Column("poor_rate", "Tỷ lệ hộ nghèo (%)", "Poor-household rate (%)", "percent", 2),
        Column("near_poor", "Hộ cận nghèo (hộ)", "Near-poor households", "count"),
        Column("near_poor_rate", "Tỷ lệ hộ cận nghèo (%)", "Near-poor rate (%)", "percent", 2),
    ]
    return readable(t, cols, lang=lang).sheet


def _effect_rows(part: str, names: list[str], frame: pd.DataFrame, outcome: str, lang: str) -> pd.DataFrame:
    from .prose.impact import term

    return pd.DataFrame(
        {
            "part": part,
            "row": names,
            "outcome": term(outcome, lang),
            "effect": frame["effect"].to_numpy(float),
            "se": frame["se"].to_numpy(float),
            "ci_lower": frame["ci_lower"].to_numpy(float),
            "ci_upper": frame["ci_upper"].to_numpy(float),
            "n_treated": frame["n_treated"].to_numpy(),
            "hidden": frame["suppressed"].to_numpy(bool) if "suppressed" in frame else False,
        }
    )


def credit_sheet(
    households: pd.DataFrame,
    loans: pd.DataFrame,
    disadvantaged: frozenset[str],
    *,
    review_year: int,
    lang: str = "vi",
) -> pd.DataFrame:
    """Every effect page 02 estimates, in one table: by method, by group of households, by programme, by loan amount.

    Effects, standard errors and 95% intervals in the outcome's display unit (points for
    leaving poverty); borrowers under the limit read ``< 10``; a suppressed group shows none
    of its figures.
    """
    from ..impact import credit
    from .prose.impact import DISPLAY_SCALE, method_name, term

    check_lang(lang)
    years = list(range(_FIRST_REVIEW, review_year + 1))
    est = [credit.estimate_effect(households, loans, outcome="exit", method=m, years=years) for m in _METHODS]
    est.append(credit.estimate_effect(households, loans, outcome="exit", method="ipw", comparison="never", years=years))
    rows = []
    frame = pd.DataFrame(
        [(r.effect, r.se, *r.conf_int(), r.n_treated) for r in est],
        columns=["effect", "se", "ci_lower", "ci_upper", "n_treated"],
    )
    rows.append(
        _effect_rows(
            page.title("credit.forest_methods", lang), [method_name(r, lang) for r in est], frame, "exit", lang
        )
    )
    for by, outcome, population in (
        (["minority", "old_area", "disadvantaged"], "exit", "poor"),
        ("programme", "log_income", "eligible"),
    ):
        g = credit.heterogeneity(
            households,
            loans,
            by=by,
            outcome=outcome,
            population=population,
            method="did",
            disadvantaged=disadvantaged,
            years=years,
        ).to_frame()
        key = "credit.forest_programmes" if by == "programme" else "credit.forest_groups"
        names = [f"{term('by_' + b, lang)}: {term(str(v), lang)}" for b, v in zip(g["by"], g["group"])]
        rows.append(_effect_rows(page.title(key, lang), names, g, outcome, lang))
    dose = credit.estimate_effect(households, loans, outcome="exit", method="dose", years=years).curve
    unit = "triệu đồng" if lang == "vi" else "million VND"
    bands = [f"{a:,.0f}–{b:,.0f} {unit}" for a, b in zip(dose["amount_min_mvnd"], dose["amount_max_mvnd"])]
    rows.append(_effect_rows(pick(page.TEXT, "credit.dose", lang).lstrip("# "), bands, dose, "exit", lang))
    t = pd.concat(rows, ignore_index=True)
    scale = t["outcome"].map({term(k, lang): v for k, v in DISPLAY_SCALE.items()}).astype(float)
    hide = t["hidden"].to_numpy(bool)
    for c in ("effect", "se", "ci_lower", "ci_upper"):
        t[c] = (t[c] * scale).mask(hide)
    t["n_treated"] = _small(t["n_treated"].astype(object).mask(hide))
    cols = [
        Column("part", "Phân tích", "Analysis"),
        Column("row", "Phương pháp hoặc nhóm", "Estimator or group"),
        Column("outcome", "Kết quả đo", "Outcome"),
        Column("effect", "Tác động (điểm %)", "Effect (points)", "points", 2),
        Column("se", "Sai số chuẩn", "Standard error", "points", 2),
        Column("ci_lower", "Cận dưới 95%", "Lower 95%", "points", 2),
        Column("ci_upper", "Cận trên 95%", "Upper 95%", "points", 2),
        Column("n_treated", "Hộ vay (hộ)", "Borrowers", "count"),
    ]
    return readable(t, cols, lang=lang).sheet


_METHODS = ("naive", "fe", "did", "ipw")


def _small(values: pd.Series) -> pd.Series:
    limit = int(config.MIN_CELL)
    v = pd.to_numeric(values, errors="coerce")
    return values.astype(object).where(~((v > 0) & (v < limit)), f"< {limit}")


def targets_sheet(
    classified: pd.DataFrame, loans: pd.DataFrame, disadvantaged: frozenset[str], *, lang: str = "vi"
) -> pd.DataFrame:
    """What each commune must achieve by 2030 (page 03's ranking, every commune and column), from the cached outlook."""
    from ..goals import outlook, requirements, targets
    from ..impact import credit

    check_lang(lang)
    look = outlook.outlook(classified, cache=config.cache_dir())
    settings = outlook.DEFAULT_SETTINGS
    target_set = targets.default_targets()
    base = targets.baseline(
        classified,
        target_set,
        disadvantaged=disadvantaged,
        minority_areas=targets.minority_areas(classified),
        standard=settings["standard"],
    )
    cost = credit.cost_per_exit(classified, loans)
    needs = requirements.commune_requirements(
        look.projection,
        target_set,
        base,
        fallback=settings["fallback"],
        fallback_rule=settings["fallback_rule"],
        cost_per_exit=cost,
    )
    ranking = requirements.province_ranking(needs)
    by_name = {t.name: t for t in target_set}
    return page.ranking_table(ranking, by_name, lang=lang, top=None, full=True).sheet


def targeting_sheet(
    classified: pd.DataFrame, loans: pd.DataFrame, *, review_year: int, lang: str = "vi", threshold: float = 0.25
) -> pd.DataFrame:
    """Every commune's priority index and its parts (page 04), at-risk households under the disclosure rule."""
    from ..targeting import beneficiaries, risk

    check_lang(lang)
    model = risk.fit_fallback_model(classified, loans)
    scores = model.score(classified, review_year=review_year)
    communes = beneficiaries.commune_table(classified, review_year=review_year, scores=scores, threshold=threshold)
    index = beneficiaries.priority_index(communes)
    return page.priority_table(index, lang=lang, top=None, full=True).sheet


def small_area_sheet(households: pd.DataFrame, *, review_year: int, lang: str = "vi") -> pd.DataFrame:
    """Page 05's estimates for every commune: census truth, sample, direct estimate, EBLUP, its CV, benchmarked EBLUP."""
    from ..measure import sae, sae_simulation, standards, survey

    check_lang(lang)
    demo = sae_simulation.demonstrate(
        households,
        review_year=review_year,
        seed=_SAE["seed"],
        n_communes=_SAE["n_communes"],
        n_households=_SAE["n_households"],
        method=_SAE["method"],
        n_replicates=1,
    )
    table = demo.to_frame().join(page.names())
    census = households[households["review_year"] == review_year]
    standard = standards.standard_for_review(review_year)
    flags = standards.classify(demo.sample, standard=standard) == "poor"
    province = survey.direct_estimates(
        demo.sample.assign(poor=flags.astype(float), province="province"),
        y="poor",
        domain="province",
        weight="weight",
        cluster="commune_code",
    ).iloc[0]
    sizes = census.groupby("commune_code").size().reindex(table.index)
    table["benchmarked"] = sae.benchmark(table["eblup"], sizes, province["estimate"])
    return page.sae_table(table, lang=lang, top=None, full=True).sheet


def channel_sheet(households: pd.DataFrame, loans: pd.DataFrame, *, lang: str = "vi") -> pd.DataFrame | None:
    """Page 02's lending by entrusted organisation: loans, borrowing households, coverage of the eligible,
    average loan and overdue share with its 95% interval, for the province, under the disclosure rule.

    None when the loans carry no organisation (``channel``).  Only the province's rows: the same
    table by old area or commune would add up to the province's and give back counts the rule
    hides in one of them.
    """
    from ..impact import channels

    check_lang(lang)
    if "channel" not in loans.columns:
        return None
    return page.channel_table(channels.by_channel(households, loans), lang=lang).sheet


#: The survey design of page 05's defaults.
_SAE = {"seed": 7, "n_communes": 40, "n_households": 15, "method": "REML"}


def province_sheets(
    *, review_year: int, lang: str = "vi", cache: str | os.PathLike | bool | None = True
) -> dict[str, pd.DataFrame]:
    """One readable sheet per province topic, every row, under the disclosure rule: for the workbook.

    Parameters
    ----------
    review_year : int
        The review the workbook describes: the last year of the overview and of the credit
        estimates, the review of the targeting lists and of the small-area sample.
    lang : {"vi", "en"}
        Headers, names and number formats of text cells.
    cache : folder, True or None
        Where the sheets are kept once made (:func:`povanalysis.common.cache.cache_folder`; ``True``,
        the default, the data's cache folder; ``None`` makes them every time).  The key holds the
        digest of the prepared tables' manifest (the processed inputs and the package),
        the hashes of the raw household file and of the commune-year table, the arguments, the
        publication threshold and the code this module runs: the sheets of a batch run again
        with ``--force`` are read back (7 s at full scale otherwise), a change to any of them
        makes them afresh.  Stored as JSON, values and dtypes, never pickled.

    Returns
    -------
    dict of str to DataFrame
        :data:`SHEET_NAMES` in ``lang`` (overview, credit, targets, targeting, small areas, and
        by entrusted organisation when the loans carry it) → the sheet: numbers as numbers rounded as the pages show them, ``< 10`` and ``–``
        where the disclosure rule hides a figure, codes as text.

    Notes
    -----
    The 2026–2030 outlook and its backtest are read from the package's cache
    (:func:`povanalysis.config.cache_dir`), which the province pages fill; the rest takes
    seconds on a province's data.
    """
    check_lang(lang)
    manifest = prepare.ensure_prepared()
    folder = cache_folder(cache)
    if folder is None:
        return _province_sheets(review_year=review_year, lang=lang)
    key = cache_key(
        __name__,
        kind="province_sheets",
        manifest=prepare.manifest_digest(manifest),
        households=prepare.file_digest(config.households_path()),
        commune_year=prepare.file_digest(config.processed_dir() / "commune_year.parquet"),
        review_year=int(review_year),
        lang=lang,
        min_cell=config.MIN_CELL,
    )
    path = folder / f"sheets-{key}.json"
    if path.exists():
        try:
            return _decode_sheets(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError):  # unreadable: made again below
            pass
    sheets = _province_sheets(review_year=review_year, lang=lang)
    atomic_write_text(path, json.dumps(_encode_sheets(sheets), ensure_ascii=False, allow_nan=False))
    return sheets


def _plain_cell(value: object) -> object:
    """A sheet cell as JSON: numbers as numbers (a missing one as null), text as text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, str):
        return value
    raise TypeError(f"a workbook sheet cell should be a number or text, got {type(value).__name__}")


def _encode_sheets(sheets: dict[str, pd.DataFrame]) -> list[dict]:
    return [
        {
            "name": name,
            "columns": [str(c) for c in frame.columns],
            "dtypes": [str(t) for t in frame.dtypes],
            "rows": [[_plain_cell(v) for v in row] for row in frame.itertuples(index=False, name=None)],
            "formats": {str(k): str(v) for k, v in (frame.attrs.get("number_formats") or {}).items()},
        }
        for name, frame in sheets.items()
    ]


def _decode_sheets(stored: list[dict]) -> dict[str, pd.DataFrame]:
    out = {}
    for sheet in stored:
        frame = pd.DataFrame(sheet["rows"], columns=sheet["columns"], dtype=object)
        for column, dtype in zip(sheet["columns"], sheet["dtypes"]):
            if dtype == "object":
                frame[column] = frame[column].astype(object)
            else:
                frame[column] = frame[column].astype(dtype)
        frame.attrs["number_formats"] = dict(sheet.get("formats") or {})
        out[sheet["name"]] = frame
    return out


def _province_sheets(*, review_year: int, lang: str) -> dict[str, pd.DataFrame]:
    from ..data import pipeline

    years = pipeline.load_commune_year()["review_year"]
    if review_year not in set(years):
        raise ValueError(f"review_year must be a review year in the data {sorted(set(years))}, got {review_year!r}")
    classified = pipeline.load_classified()
    loans = pipeline.load_loans()
    disadvantaged = pipeline.load_disadvantaged()
    upto = classified[classified["review_year"] <= review_year]
    i = 0 if lang == "vi" else 1
    out = {
        SHEET_NAMES["overview"][i]: overview_sheet(review_year=review_year, lang=lang),
        SHEET_NAMES["credit"][i]: credit_sheet(upto, loans, disadvantaged, review_year=review_year, lang=lang),
        SHEET_NAMES["targets"][i]: targets_sheet(classified, loans, disadvantaged, lang=lang),
        SHEET_NAMES["targeting"][i]: targeting_sheet(classified, loans, review_year=review_year, lang=lang),
        SHEET_NAMES["small_areas"][i]: small_area_sheet(classified, review_year=review_year, lang=lang),
    }
    by_channel = channel_sheet(upto, loans, lang=lang)
    if by_channel is not None:
        out[SHEET_NAMES["channels"][i]] = by_channel
    return out
