"""A synthetic household review panel for Thai Nguyen, calibrated to the published figures, with VBSP loans."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from ..common.files import atomic_write_text
from ..measure.standards import get_standard
from . import registry
from .channels import assign_channels
from .io import write_parquet
from .schema import DEPRIVATIONS, ETHNIC_MAJORITY, REVIEW_YEARS
from .villages import assign_villages

__all__ = [
    "BORROWING",
    "DEFAULT_CREDIT_EFFECT",
    "INCOME_SPREAD",
    "TARGETS",
    "SyntheticPanel",
    "generate",
]

#: Default planted effect of a VBSP loan on leaving poverty by the next review, for borrowers
#: who were poor at the review before the loan, in probability points: 4 points, moderate.
#: Published evaluations of VBSP credit (Nguyen Viet Cuong and van den Berg; Khoi et al. 2014;
#: Luan et al. 2016) find small and often insignificant effects on income and on leaving
#: poverty, so that an effect of several points is already generous (reference §7).
DEFAULT_CREDIT_EFFECT = 0.04

#: The lending model.  Who would borrow when eligible is selected: the log-odds are ``level`` +
#: ``selection`` x the unobserved drive (+ 0.35 for minorities + the commune's supply), so
#: borrowers are households that would have done better anyway.  When is left to chance: each year
#: a would-be borrower eligible at the last review that holds no loan yet borrows with probability
#: ``yearly``, whatever its history, so that households borrowing later are a fair comparison.
#: A would-be borrower who is not eligible borrows with ``leakage`` times that probability.
#: Calibrated to the ranges of :data:`povanalysis.impact.lending.REFERENCE` (see :func:`generate`).
BORROWING: Mapping[str, float] = MappingProxyType({"level": 5.0, "selection": 3.0, "yearly": 0.3, "leakage": 0.02})

#: Multiplies every household's log income (traits and shocks) before the yearly levels are
#: solved for the published poor rates: a narrower spread puts more households between the
#: Decree 07 and Decree 351 lines.  0.7 gives a jump of about 2.5 times in poor and near-poor
#: households at the switch (national projection about 2.9, reference §7).
INCOME_SPREAD = 0.7

#: Published figures the generator is calibrated to, and the assumptions that fill the gaps.
#: ``source`` says which: a published figure (with its reference) or ``assumed``.
TARGETS = pd.DataFrame(
    [
        # review_year, group, measure, value (%), source
        (2021, "province", "poor_rate", 10.29, "42,903 poor households (thoibaotaichinhvietnam.vn, 23/09/2025)"),
        (2024, "province", "poor_rate", 5.46, "23,061 poor households (baodautu.vn)"),
        (2024, "province", "near_poor_rate", 3.67, "15,482 near-poor households (baodautu.vn)"),
        (2025, "province", "poor_rate", 4.66, "19,679 poor households, end-2025 estimate (thoibaotaichinhvietnam.vn)"),
        (2021, "thai_nguyen", "poor_rate", 6.14, "old Thai Nguyen area, start of period (thoibaotaichinhvietnam.vn)"),
        (2025, "thai_nguyen", "poor_rate", 1.54, "old Thai Nguyen area, Sep-2025 (thoibaotaichinhvietnam.vn)"),
        (2021, "bac_kan", "poor_rate", 27.37, "old Bac Kan area, start of period (thoibaotaichinhvietnam.vn)"),
        (2025, "bac_kan", "poor_rate", 17.46, "old Bac Kan area, Sep-2025 (thoibaotaichinhvietnam.vn)"),
        (2024, "province", "minority_share_of_poor", 83.93, "ethnic minorities among poor households (baodautu.vn)"),
        (2021, "province", "households", 416_939, "42,903 / 10.29%"),
        (2024, "province", "households", 422_363, "23,061 / 5.46%"),
        # Gaps between published figures: smooth paths, not published.
        (2022, "thai_nguyen", "poor_rate", 4.50, "assumed"),
        (2023, "thai_nguyen", "poor_rate", 3.10, "assumed"),
        (2024, "thai_nguyen", "poor_rate", 2.30, "assumed"),
        (2024, "bac_kan", "poor_rate", 18.50, "assumed"),
        (2022, "bac_kan", "poor_rate", 24.00, "assumed"),
        (2023, "bac_kan", "poor_rate", 21.50, "assumed"),
        (2021, "province", "near_poor_rate", 5.60, "assumed"),
        (2022, "province", "near_poor_rate", 4.90, "assumed"),
        (2023, "province", "near_poor_rate", 4.20, "assumed"),
        (2025, "province", "near_poor_rate", 3.40, "assumed"),
    ],
    columns=["review_year", "group", "measure", "target", "source"],
)

# Remoteness (0 = city centre, 1 = most remote) of the pre-2025 districts, from their
# terrain and distance to the provincial centres; it drives commune income levels,
# ethnic composition and infrastructure deprivations.
_DISTRICT_REMOTENESS: Mapping[str, float] = MappingProxyType(
    {
        "Thành phố Thái Nguyên": 0.05,
        "Thành phố Sông Công": 0.12,
        "Thành phố Phổ Yên": 0.15,
        "Thị xã Phổ Yên": 0.15,
        "Huyện Phú Bình": 0.35,
        "Huyện Đồng Hỷ": 0.5,
        "Huyện Phú Lương": 0.5,
        "Huyện Đại Từ": 0.5,
        "Huyện Định Hóa": 0.7,
        "Huyện Võ Nhai": 0.85,
        "Thành phố Bắc Kạn": 0.25,
        "Huyện Chợ Mới": 0.6,
        "Huyện Bạch Thông": 0.65,
        "Huyện Chợ Đồn": 0.75,
        "Huyện Na Rì": 0.8,
        "Huyện Ngân Sơn": 0.85,
        "Huyện Ba Bể": 0.85,
        "Huyện Pác Nặm": 1.0,
    }
)

# Ethnic composition: the shares at remoteness 0 and 1, per old province (weights, normalised).
_ETHNIC_MIX = {
    "thai_nguyen": (
        {"Kinh": 92, "Tày": 3, "Nùng": 2, "Sán Dìu": 1.5, "Hoa": 1, "Sán Chay": 0.5},
        {"Kinh": 30, "Tày": 28, "Nùng": 14, "Dao": 12, "Sán Chay": 7, "H'Mông": 6, "Sán Dìu": 3},
    ),
    "bac_kan": (
        {"Kinh": 55, "Tày": 35, "Nùng": 6, "Dao": 3, "Hoa": 1},
        {"Tày": 48, "Dao": 22, "Nùng": 11, "H'Mông": 13, "Kinh": 6},
    ),
}
# Log-income gap of each group against Kinh, before the commune effect.
_ETHNIC_INCOME = {
    "Kinh": 0.0,
    "Hoa": 0.04,
    "Tày": -0.25,
    "Nùng": -0.29,
    "Sán Dìu": -0.18,
    "Sán Chay": -0.32,
    "Dao": -0.45,
    "H'Mông": -0.65,
}

# Deprivation indicators: base log-odds in 2021, yearly change, loading on low welfare,
# loading on remoteness (infrastructure), loading on household size.
_DEPRIVATION_MODEL = {
    "d_employment": (-2.0, -0.08, 0.9, 0.6, 0.00),
    "d_dependants": (-2.3, -0.03, 0.5, 0.3, 0.25),
    "d_nutrition": (-2.6, -0.10, 0.9, 0.8, 0.15),
    "d_health_insurance": (-2.2, -0.12, 0.8, 0.2, 0.05),
    "d_adult_education": (-1.9, -0.08, 1.0, 1.0, 0.10),
    "d_child_school": (-3.0, -0.08, 0.9, 0.8, 0.15),
    "d_housing_quality": (-1.8, -0.15, 1.1, 1.2, 0.00),
    "d_floor_area": (-2.4, -0.10, 0.9, 0.4, 0.30),
    "d_water": (-1.9, -0.15, 0.9, 1.6, 0.00),
    "d_latrine": (-1.6, -0.15, 1.0, 1.6, 0.00),
    "d_telecom": (-3.2, -0.20, 1.0, 1.2, -0.10),
    "d_information_means": (-2.8, -0.15, 1.0, 1.2, -0.10),
    "d_internet": (-1.5, -0.25, 1.1, 1.6, -0.10),
    "d_waste": (-1.0, -0.20, 0.7, 2.2, 0.00),
}

_RATES = {"poor": 0.066, "near_poor": 0.0792, "newly_escaped": 0.0825}


@dataclass
class SyntheticPanel:
    """What :func:`generate` returns.

    Attributes
    ----------
    households : DataFrame
        One row per household per review year (2021–2025), in the input schema of
        :mod:`povanalysis.data.io`.
    loans : DataFrame
        VBSP loan records in the input schema, with the optional ``channel``, ``group_code``
        and ``overdue`` of :data:`~povanalysis.data.schema.LOAN_CHANNEL_COLUMNS` last (see
        :func:`povanalysis.data.channels.assign_channels`).  Drawn after the villages, from a
        stream of their own: the other columns are the same as without them.
    communes : DataFrame
        The 92 units with the generator's commune traits (remoteness, old area), and
        ``disadvantaged``: the communes that meet the Region III poverty criteria of
        Decision 861/QĐ-TTg at the 2021 review (synthetic, not the official list).
    truth : dict
        The planted parameters and their realised values (see :func:`generate`).
    calibration : DataFrame
        Published target against generated value, with the gap in points.
    villages : DataFrame
        The village of each household (``household_id``, ``commune_code``, ``village_code``,
        ``village_name``, ``distance_km``): see :func:`povanalysis.data.villages.assign_villages`
        for the assumptions.  Drawn last, from a stream of its own: the other attributes are
        the same as without villages.
    """

    households: pd.DataFrame
    loans: pd.DataFrame
    communes: pd.DataFrame
    truth: dict
    calibration: pd.DataFrame = field(repr=False)
    villages: pd.DataFrame | None = field(default=None, repr=False)

    def summary(self) -> str:
        """A short text account of the panel and its calibration."""
        published = self.calibration[self.calibration["source"] != "assumed"]
        lines = [
            f"Synthetic Thai Nguyen panel (seed {self.truth['seed']}, scale {self.truth['scale']}):",
            f"  {self.households['household_id'].nunique():,} households, "
            f"{len(self.households):,} household-years, {len(self.loans):,} loans"
            + (f", {self.villages['village_code'].nunique():,} villages" if self.villages is not None else ""),
            f"  planted credit effect on exit: {self.truth['credit_effect']:.3f} "
            f"(realised {self.truth['credit_effect_realised']:.3f} over {self.truth['n_exit_events']:,} loans)",
            "  calibration (published target vs generated):",
        ]
        for r in published.itertuples():
            lines.append(f"    {r.review_year} {r.group:<12} {r.measure:<24} {r.target:>10,.2f} {r.generated:>10,.2f}")
        return "\n".join(lines)


def _commune_traits(rng: np.random.Generator) -> pd.DataFrame:
    u = registry.units()
    remote = []
    for districts, utype in zip(u["predecessor_districts"], u["unit_type"]):
        values = [_DISTRICT_REMOTENESS.get(registry.normalise_name(d), 0.5) for d in districts]
        base = float(np.mean(values))
        remote.append(base * (0.35 if utype == "ward" else 1.0))
    remote = np.clip(np.asarray(remote) + rng.normal(0, 0.07, len(u)), 0, 1)
    towns = np.array([any(n.startswith("Thị trấn") for n in names) for names in u["predecessor_names"]])
    return pd.DataFrame(
        {
            "commune_code": u["commune_code"],
            "name": u["name"],
            "unit_type": u["unit_type"],
            "old_area": u["old_area"],
            "remoteness": remote.round(4),
            "urban_share": np.where(u["unit_type"] == "ward", 1.0, np.where(towns, 0.3, 0.0)),
            "effect": rng.normal(0, 0.12, len(u)),
        }
    )


def _allocate(communes: pd.DataFrame, n_by_area: Mapping[str, int], rng: np.random.Generator) -> np.ndarray:
    weight = np.exp(1.1 - 1.2 * communes["remoteness"].to_numpy() + rng.normal(0, 0.25, len(communes)))
    weight *= np.where(communes["unit_type"] == "ward", 2.2, 1.0)
    counts = np.zeros(len(communes), dtype=np.int64)
    for area, total in n_by_area.items():
        idx = np.flatnonzero(communes["old_area"].to_numpy() == area)
        share = weight[idx] / weight[idx].sum()
        raw = share * total
        c = np.floor(raw).astype(np.int64)
        c[np.argsort(-(raw - c), kind="stable")[: total - c.sum()]] += 1
        counts[idx] = np.maximum(c, 12)
    return counts


def _ethnicity(old_area: np.ndarray, remoteness: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = np.empty(len(old_area), dtype=object)
    u = rng.random(len(old_area))
    for area, (near, far) in _ETHNIC_MIX.items():
        idx = np.flatnonzero(old_area == area)
        groups = sorted(set(near) | set(far))
        p0 = np.array([near.get(g, 0) for g in groups], float)
        p1 = np.array([far.get(g, 0) for g in groups], float)
        p0, p1 = p0 / p0.sum(), p1 / p1.sum()
        r = remoteness[idx, None] ** 0.8
        p = (1 - r) * p0 + r * p1
        cum = np.cumsum(p, axis=1)
        pick = (u[idx, None] > cum).sum(axis=1).clip(0, len(groups) - 1)
        out[idx] = np.asarray(groups, dtype=object)[pick]
    return out


def _solve_level(t: np.ndarray, eligible: np.ndarray, count: int) -> float:
    """The shift δ such that exactly ``count`` eligible units have ``t >= δ``."""
    vals = np.sort(t[eligible])[::-1]
    if count <= 0:
        return float(vals[0] + 1.0) if len(vals) else 0.0
    if count >= len(vals):
        return float(vals[-1] - 1.0)
    return float((vals[count - 1] + vals[count]) / 2)


def generate(*, seed: int, scale: float = 1.0, credit_effect: float = DEFAULT_CREDIT_EFFECT) -> SyntheticPanel:
    """Generate a synthetic household review panel of Thai Nguyen, 2021–2025, with VBSP loans.

    Real review records are confidential; this panel has their schema and is calibrated
    to the published figures (:data:`TARGETS`): about 420,000 households, a poor rate of
    10.29% at the 2021 review and 5.46% at the 2024 review, 1.54% and 17.46% in the old
    Thai Nguyen and old Bac Kan areas in 2025, ethnic minorities about 84% of the poor.

    The generating model:

    * commune traits (remoteness from the old district, urban wards, a random effect) set
      income levels, ethnic mix and infrastructure deprivations;
    * log per-capita income = commune effect + ethnic gap + household trait (partly an
      unobserved "drive") + AR(1) shocks + a year-and-area level solved so that the poor
      rates of each old area hit their targets exactly;
    * the 14 deprivations are correlated logits of low welfare, remoteness, household
      size and a household factor, with a yearly shift solved for the near-poor rate;
    * VBSP loans (:data:`BORROWING`): a household would borrow when eligible with a chance
      that rises steeply with its unobserved drive, its commune's credit supply and minority
      status; each year from 2022 such a household, eligible at the previous review (poor,
      near-poor or left the lists within 3 years) and holding no loan yet, borrows with
      probability 0.3, whatever its history (so the timing is as good as random among
      would-be borrowers); an ineligible one borrows with 2% of that chance (leakage).  Terms
      of 3–5 years keep one loan per household in 2022–2025.  Amounts are log-normal around
      48 million VND (10–100 million).  The levels put the lending of the 2025 review in the
      ranges of :data:`povanalysis.impact.lending.REFERENCE` (VBSP's national and provincial
      figures): about 11% of households hold a loan, about 0.9 poor-programme borrowers per
      poor household, a programme mix near the national 37/30/33, about half of the eligible
      covered.  At earlier reviews the newly escaped are fewer than that mix, as the panel has
      no history before 2021;
    * the spread of log income (:data:`INCOME_SPREAD`) is set so that the poor and near-poor
      under the Decree 351 lines are about 2.5 times those under Decree 07 at the 2025 review
      (the national projection gives about 2.9, reference §7);
    * villages, drawn last from a stream of their own (:func:`povanalysis.data.villages.assign_villages`):
      every commune has a realistic number of villages (at full scale 20–60 thôn, xóm or bản of
      about 100–300 households in a rural commune, tổ dân phố of about 150–400 in a ward or a
      former town), and households are sorted into them by a noisy score of ethnicity, distance
      below the income line and deprivations at their first review, so that neighbours share
      ethnicity and poverty; villages with a higher mean score lie farther from the commune's
      centre.  Nothing else of the panel depends on them;
    * loan channels, drawn after the villages from a stream of their own
      (:func:`povanalysis.data.channels.assign_channels`): each loan's entrusted organisation and
      savings-and-credit group (20–60 borrowers of one village at full scale, one organisation
      per group, the Women's and Farmers' Unions running most groups), and whether it has
      overdue principal at the last review (0.5% of poor-programme loans, 0.3% near-poor, 0.2%
      newly escaped, times a risk factor the members of a group share).  Nothing else of the
      panel depends on them, and no organisation is planted riskier or more effective.

    **The planted effect.**  Among loans to households that were poor at the review before
    the loan, a random share is lifted above the income line at the next review that
    would have stayed poor without it, so that the effect on leaving poverty by the next
    review (the average over those borrowers of exit-with-loan minus exit-without-loan) is
    ``credit_effect`` in probability points, exactly up to rounding to whole households.
    Every other borrower gains income of ``credit_effect`` in logs (at most up to the
    line, so no other class changes because of the loan at that review), and the gains
    persist.  Because borrowers are selected on the unobserved drive, which also raises
    income, a naive borrower/non-borrower comparison overstates the effect.

    Parameters
    ----------
    seed : int
        Seed of every random draw: the same seed and scale give identical frames.
    scale : float
        Share of the province's households to generate (1.0 ≈ 420,000).
    credit_effect : float
        Planted effect in probability points, in [0, 0.5].

    Returns
    -------
    SyntheticPanel

    Examples
    --------
    >>> panel = generate(seed=1, scale=0.01)
    >>> sorted(panel.households["review_year"].unique().tolist())
    [2021, 2022, 2023, 2024, 2025]
    >>> round(panel.truth["credit_effect_realised"], 2)
    0.04
    """
    if not 0 < scale <= 5:
        raise ValueError(f"scale must be in (0, 5], got {scale!r}")
    if not 0 <= credit_effect <= 0.5:
        raise ValueError(f"credit_effect must be in [0, 0.5] probability points, got {credit_effect!r}")
    rng = np.random.default_rng(seed)
    std = get_standard("2022-2025")
    years = list(REVIEW_YEARS)
    target = TARGETS.set_index(["review_year", "group", "measure"])["target"]

    communes = _commune_traits(rng)
    n2021 = round(416_939 * scale)
    bk_share = 0.1955  # solves 27.37% x + 6.14% (1 - x) = 10.29% (the 2021 targets)
    n_area = {"bac_kan": round(n2021 * bk_share), "thai_nguyen": n2021 - round(n2021 * bk_share)}
    counts = _allocate(communes, n_area, rng)

    # Households that exist at 2021, plus those formed later (the province grows ~0.4% a year net of dissolutions).
    n0 = int(counts.sum())
    growth = round(n0 * 0.0081)
    n_total = n0 + growth * (len(years) - 1)
    commune_idx = np.concatenate(
        [np.repeat(np.arange(len(communes)), counts), rng.choice(len(communes), n_total - n0, p=counts / n0)]
    )
    first_year = np.concatenate([np.full(n0, years[0]), np.repeat(years[1:], growth)])
    # A small share of households dissolves (merged or moved away) after some review.
    last_year = np.where(rng.random(n_total) < 0.015, rng.choice(years[:-1], n_total), years[-1])
    last_year = np.maximum(last_year, first_year)

    c = communes.iloc[commune_idx].reset_index(drop=True)
    remote = c["remoteness"].to_numpy()
    old_area = c["old_area"].to_numpy()
    ethnicity = _ethnicity(old_area, remote, rng)
    minority = ethnicity != ETHNIC_MAJORITY
    urban = rng.random(n_total) < c["urban_share"].to_numpy()
    size0 = 1 + rng.poisson(2.5 + 0.6 * minority + 0.4 * remote)
    size0 = np.minimum(size0, 12)

    drive = rng.normal(0, 1, n_total)  # unobserved
    trait = 0.55 * drive + rng.normal(0, 0.2, n_total)
    eth_gap = np.array([_ETHNIC_INCOME[e] for e in ethnicity])
    base = c["effect"].to_numpy() - 0.9 * remote + eth_gap + trait + 0.25 * urban
    dep_factor = rng.normal(0, 1, n_total)
    supply = rng.normal(0, 0.4, len(communes))[commune_idx]

    # Who would borrow when eligible: the chance rises with the unobserved drive, minority status
    # and the commune's supply.  When is left to chance: each year an applicant eligible at the
    # last review that holds no loan yet borrows with the same probability, whatever its history.
    apply_p = 1 / (1 + np.exp(-(BORROWING["level"] + BORROWING["selection"] * drive + 0.35 * minority + supply)))
    applicant = rng.random(n_total) < apply_p

    shock = rng.normal(0, 0.30, n_total)
    gains = np.zeros(n_total)
    line = np.where(urban, std.income_line["urban"], std.income_line["rural"]).astype(float)
    log_line = np.log(line)

    frames, loan_rows = [], []
    status = {}  # year -> class codes (0 poor, 1 near-poor, 2 average, 3 not poor; -1 absent)
    last_listed = np.full(n_total, -100)
    has_loan = np.zeros(n_total, bool)
    events_total, lifted_total, log_gain_sum, log_gain_n = 0, 0, 0.0, 0
    size = size0.copy()
    for t, year in enumerate(years):
        alive = (first_year <= year) & (last_year >= year)
        if t > 0:
            shock = 0.55 * shock + rng.normal(0, 0.26, n_total)
            size = np.clip(size + rng.choice([-1, 0, 0, 0, 0, 0, 1], n_total), 1, 12)
        welfare = INCOME_SPREAD * (base + shock)
        z = (welfare - welfare.mean()) / welfare.std()
        # This year's borrowers: applicants whose year has come, eligible at the last review.
        if t > 0:
            prev = status[years[t - 1]]
            newly = (prev >= 2) & (year - 1 - last_listed <= 3) & (last_listed >= 0)
            eligible = (prev == 0) | (prev == 1) | newly
            draw = rng.random(n_total)
            chance = BORROWING["yearly"] * np.where(eligible, 1.0, BORROWING["leakage"])
            borrow = alive & applicant & ~has_loan & (prev >= 0) & (draw < chance)
            has_loan |= borrow
            exit_event = borrow & (prev == 0)
        else:
            borrow = np.zeros(n_total, bool)
            exit_event = borrow
        n_events = int(exit_event.sum())
        n_lift = int(round(credit_effect * n_events))
        # Deprived in indicator j iff margin_j + kappa > 0, kappa a yearly level solved below.
        margin = {}
        for d, (a, trend, w_load, r_load, s_load) in _DEPRIVATION_MODEL.items():
            margin[d] = (
                a
                + trend * t
                - w_load * z
                + r_load * (remote - 0.4)
                + s_load * (size - 3.5)
                + 0.9 * dep_factor
                - rng.logistic(0, 1, n_total)
            )
        # A household has 3+ of the standard's deprivations iff its third-largest margin + kappa > 0.
        third = -np.partition(-np.vstack([margin[d] for d in std.columns]), 2, axis=0)[2]
        t_gap = log_line - (welfare + gains)
        extra = {area: _lift_share(n_lift, exit_event, old_area, area) for area in ("thai_nguyen", "bac_kan")}
        goal = {
            area: round(target[(year, area, "poor_rate")] / 100 * (alive & (old_area == area)).sum())
            for area in ("thai_nguyen", "bac_kan")
        }
        np_target = target[(year, "province", "near_poor_rate")] / 100
        lo, hi = -3.0, 3.0
        for _ in range(30):  # bisection on the deprivation level for the near-poor rate
            kappa = (lo + hi) / 2
            many = third + kappa > 0
            shift = np.zeros(n_total)
            for area in ("thai_nguyen", "bac_kan"):
                in_area = alive & (old_area == area)
                shift[old_area == area] = _solve_level(t_gap, in_area & many, goal[area] + extra[area])
            near = alive & (t_gap >= shift) & ~many
            if near.sum() / alive.sum() > np_target:
                lo = kappa
            else:
                hi = kappa
        dep = {d: (margin[d] + kappa > 0).astype(np.int8) for d in DEPRIVATIONS}
        count = sum(dep[d].astype(np.int64) for d in std.columns)
        level = shift  # poor iff t_gap >= level, i.e. welfare + gains + level <= log(line)
        log_income0 = welfare + gains + level
        poor0 = alive & (log_income0 <= log_line) & (count >= 3)

        # The planted effect: lift a random set of poor-before borrowers who would stay poor.
        stuck = np.flatnonzero(exit_event & poor0)
        lifted = np.zeros(n_total, bool)
        if n_lift:
            pick_order = rng.permutation(stuck)
            for area in ("thai_nguyen", "bac_kan"):
                k = _lift_share(n_lift, exit_event, old_area, area)
                in_area = pick_order[old_area[pick_order] == area]
                lifted[in_area[:k]] = True
        lift_to = rng.uniform(0.02, 0.25, n_total)
        new_gain = np.where(lifted, log_line + np.log1p(lift_to) - log_income0, 0.0)
        # Other borrowers gain credit_effect in logs, capped so that no class changes now.
        cap = np.where(log_income0 <= log_line, log_line - log_income0, np.inf)
        other = borrow & ~lifted
        new_gain = np.where(other, np.minimum(credit_effect, cap), new_gain)
        gains = gains + new_gain
        if n_events:
            log_gain_sum += float(new_gain[exit_event].sum())
            log_gain_n += n_events
        events_total += n_events
        lifted_total += int(lifted.sum())

        log_income = welfare + gains + level
        income = np.round(np.exp(log_income) / 1000) * 1000
        # Rounding to whole thousands must not move anyone across the line.
        income = np.where((log_income <= log_line) & (income > line), line, income)
        income = np.where((log_income > log_line) & (income <= line), line + 1000, income)
        cls = np.full(n_total, -1)
        below = income <= line
        cls[alive] = np.where(
            below,
            np.where(count >= 3, 0, 1),
            np.where(income <= np.where(urban, std.average_band["urban"], std.average_band["rural"]), 2, 3),
        )[alive]
        status[year] = cls
        listed_before = last_listed  # the lists a loan of this year was granted on
        last_listed = np.where(alive & (cls <= 1), year, last_listed)

        ids = np.flatnonzero(alive)
        frame = pd.DataFrame(
            {
                "household_id": [f"TN{i:07d}" for i in ids],
                "review_year": np.full(len(ids), year, dtype=np.int64),
                "commune_code": c["commune_code"].to_numpy()[ids],
                "area": np.where(urban[ids], "urban", "rural"),
                "ethnicity": ethnicity[ids].astype(str),
                "size": size[ids].astype(np.int64),
                "income_pc": income[ids].astype(float),
            }
        )
        for d in DEPRIVATIONS:
            frame[d] = dep[d][ids]
        frames.append(frame)

        # Loan records for this year's borrowers.
        b = np.flatnonzero(borrow)
        if len(b):
            prev = status[years[t - 1]]
            programme = np.where(prev[b] == 0, "poor", np.where(prev[b] == 1, "near_poor", "newly_escaped"))
            programme = np.where((prev[b] >= 2) & ~(year - 1 - listed_before[b] <= 3), "near_poor", programme)
            day = rng.integers(0, 240, len(b))
            amount = np.clip(np.round(rng.lognormal(np.log(48e6), 0.35, len(b)) / 1e6) * 1e6, 10e6, 100e6)
            loan_rows.append(
                pd.DataFrame(
                    {
                        "household_id": [f"TN{i:07d}" for i in b],
                        "programme": programme,
                        "disbursed": pd.Timestamp(f"{year}-01-02") + pd.to_timedelta(day, unit="D"),
                        "amount": amount,
                        "rate": [_RATES[p] for p in programme],
                        "term_months": rng.choice([36, 48, 60], len(b)).astype(np.int64),
                    }
                )
            )

    households = pd.concat(frames, ignore_index=True)
    loans = (
        pd.concat(loan_rows, ignore_index=True)
        if loan_rows
        else pd.DataFrame(columns=["household_id", "programme", "disbursed", "amount", "rate", "term_months"])
    )
    loans = loans.sort_values(["disbursed", "household_id"], kind="stable").reset_index(drop=True)

    communes_out = communes.drop(columns=["effect", "urban_share"]).copy()
    communes_out["disadvantaged"] = _region_iii(households, communes_out)
    truth = {
        "seed": seed,
        "scale": scale,
        "credit_effect": credit_effect,
        "credit_effect_realised": lifted_total / events_total if events_total else float("nan"),
        "n_exit_events": events_total,
        "estimand": (
            "effect of a loan disbursed between review t and t+1 on not being poor at review t+1, "
            "for borrowers poor at review t, in probability points"
        ),
        "income_effect_log": credit_effect,
        "mean_log_income_gain_exit_events": log_gain_sum / log_gain_n if log_gain_n else float("nan"),
        "deprivation_effect": 0.0,
        "selection": "borrowing rises with an unobserved drive that also raises income: naive comparisons overstate",
    }
    calibration = _calibration(households, communes_out, target)
    villages = assign_villages(households, seed=seed, scale=scale)
    loans = pd.concat([loans, assign_channels(loans, villages, seed=seed, scale=scale)], axis=1)
    return SyntheticPanel(households, loans, communes_out, truth, calibration, villages)


def _lift_share(n_lift: int, events: np.ndarray, old_area: np.ndarray, area: str) -> int:
    """Households to lift in ``area``: ``n_lift`` apportioned by the area's share of events."""
    total = int(events.sum())
    if not total or not n_lift:
        return 0
    tn = int(round(n_lift * (events & (old_area == "thai_nguyen")).sum() / total))
    return tn if area == "thai_nguyen" else n_lift - tn


def _region_iii(households: pd.DataFrame, communes: pd.DataFrame, *, review_year: int = 2021) -> np.ndarray:
    """Communes meeting the poverty criteria of Region III (Decision 861/QĐ-TTg) at a review.

    Poor rate of 20% or more, or 15% to under 20% with more than 60% of the poor from
    ethnic minorities (the other criteria of Decision 33/2020 are not in the panel).
    """
    hh = households[households["review_year"] == review_year]
    cls = _classes(hh)
    poor = cls == "poor"
    g = (
        pd.DataFrame(
            {"commune_code": hh["commune_code"], "poor": poor, "poor_em": poor & (hh["ethnicity"] != ETHNIC_MAJORITY)}
        )
        .groupby("commune_code")
        .mean()
    )
    rate = g["poor"]
    em_share = (g["poor_em"] / g["poor"]).fillna(0)
    flag = (rate >= 0.20) | ((rate >= 0.15) & (em_share > 0.60))
    return communes["commune_code"].map(flag).fillna(False).to_numpy(dtype=bool)


def _classes(hh: pd.DataFrame) -> pd.Series:
    from ..measure.standards import classify

    return classify(hh, standard="2022-2025")


def _calibration(households: pd.DataFrame, communes: pd.DataFrame, target: pd.Series) -> pd.DataFrame:
    cls = _classes(households)
    area = households["commune_code"].map(communes.set_index("commune_code")["old_area"])
    frame = pd.DataFrame(
        {
            "review_year": households["review_year"].to_numpy(),
            "area": area.to_numpy(),
            "poor": (cls == "poor").to_numpy(),
            "near_poor": (cls == "near_poor").to_numpy(),
            "minority": (households["ethnicity"] != ETHNIC_MAJORITY).to_numpy(),
        }
    )
    scale = None
    rows = []
    for (year, group, measure), value in target.items():
        sub = frame[frame["review_year"] == year]
        if group != "province":
            sub = sub[sub["area"] == group]
        if measure == "poor_rate":
            gen = 100 * sub["poor"].mean()
        elif measure == "near_poor_rate":
            gen = 100 * sub["near_poor"].mean()
        elif measure == "minority_share_of_poor":
            gen = 100 * sub.loc[sub["poor"], "minority"].mean()
        elif measure == "households":
            if scale is None:
                base = frame[frame["review_year"] == 2021]
                scale = len(base) / target[(2021, "province", "households")]
            gen = len(sub) / scale
        else:  # pragma: no cover - TARGETS holds only the measures above
            raise ValueError(f"unknown calibration measure {measure!r}")
        rows.append((year, group, measure, value, gen))
    out = pd.DataFrame(rows, columns=["review_year", "group", "measure", "target", "generated"])
    out["gap"] = out["generated"] - out["target"]
    out["source"] = (
        TARGETS.set_index(["review_year", "group", "measure"])
        .loc[list(zip(out["review_year"], out["group"], out["measure"])), "source"]
        .to_numpy()
    )
    return out.sort_values(["measure", "group", "review_year"], kind="stable").reset_index(drop=True)


def write(panel: SyntheticPanel, directory: str | os.PathLike) -> dict[str, Path]:
    """Write a panel as the raw input files a real user would have, plus the generator's record.

    Files: ``households.parquet`` and ``loans.parquet`` (input schema), ``villages.parquet``
    (the village of each household, read by :func:`povanalysis.data.villages.read_villages`;
    absent when the panel has no villages), ``disadvantaged_communes.csv`` (``commune_code``, the list a province publishes),
    ``calibration.csv`` and ``truth.json`` (the generator's targets and planted parameters).
    The same panel gives identical bytes.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "households": out / "households.parquet",
        "loans": out / "loans.parquet",
        "disadvantaged": out / "disadvantaged_communes.csv",
        "calibration": out / "calibration.csv",
        "truth": out / "truth.json",
    }
    write_parquet(panel.households, paths["households"])
    write_parquet(panel.loans, paths["loans"])
    if panel.villages is not None:
        paths["villages"] = out / "villages.parquet"
        write_parquet(panel.villages, paths["villages"])
    dis = panel.communes.loc[panel.communes["disadvantaged"], ["commune_code", "name"]]
    atomic_write_text(paths["disadvantaged"], dis.to_csv(index=False, lineterminator="\n"))
    atomic_write_text(
        paths["calibration"], panel.calibration.to_csv(index=False, lineterminator="\n", float_format="%.6f")
    )
    atomic_write_text(paths["truth"], json.dumps(panel.truth, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
    return paths
