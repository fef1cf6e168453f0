"""VBSP lending by entrusted organisation: coverage of eligible households, average loan and overdue share, with intervals."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..common.checks import Z_95, check_alpha, require_frame
from ..data.schema import CHANNEL_NAMES, CHANNELS
from ..targeting.beneficiaries import eligibility

__all__ = ["CHANNEL_BY", "ChannelResults", "by_channel", "overdue_share", "overdue_difference"]

#: How :func:`by_channel` may split the province besides the channel.
CHANNEL_BY: tuple[str, ...] = ("province", "old_area", "commune_code")

_TOTAL = "all"


def _z(alpha: float) -> float:
    from scipy import stats

    return Z_95 if alpha == 0.05 else float(stats.norm.ppf(1 - alpha / 2))


def _wilson(events: np.ndarray, n: np.ndarray, n_eff: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson's score interval for the share ``events / n`` with the effective sample size ``n_eff``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        p = events / n
        centre = (p + z**2 / (2 * n_eff)) / (1 + z**2 / n_eff)
        half = z * np.sqrt(p * (1 - p) / n_eff + z**2 / (4 * n_eff**2)) / (1 + z**2 / n_eff)
    lower = np.where(events == 0, 0.0, np.clip(centre - half, 0, 1))
    return lower, np.where(events == n, 1.0, np.clip(centre + half, 0, 1))


def overdue_share(
    overdue: np.ndarray | pd.Series,
    cluster: np.ndarray | pd.Series,
    *,
    group: np.ndarray | pd.Series | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """The share of loans overdue, by group, with a cluster-robust interval suited to rare events.

    The share is ``events / n``.  Its standard error is linearised and clustered
    (``se² = C/(C-1) Σ_c (y_c − p n_c)² / n²`` over the ``C`` clusters that hold loans of the
    group): loans of one commune or group share risk.  Overdue loans are rare (a few tenths of a
    percent), so the interval is not ``p ± z se`` but Wilson's score interval with the
    effective sample size ``n / deff``, the design effect ``deff = se² / (p(1-p)/n)`` never
    below 1 (Korn and Graubard 1998); with no overdue loan it runs from 0.

    Parameters
    ----------
    overdue : array of bool
        One value per loan.
    cluster : array
        The cluster of each loan (commune or savings-and-credit group).
    group : array, optional
        The group of each loan (e.g. the channel); one row for all loans when omitted.
    alpha : float
        The intervals have level ``1 - alpha``.

    Returns
    -------
    DataFrame
        ``group``, ``n`` (loans), ``events`` (overdue loans), ``share``, ``se``, ``deff``,
        ``ci_lower``, ``ci_upper``, ``clusters``.

    References
    ----------
    Korn, E. L. and Graubard, B. I. (1998). Confidence intervals for proportions with small
    expected number of positive counts estimated from survey data. *Survey Methodology* 24(2):
    193–201.  Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
    inference. *JASA* 22(158): 209–212. doi:10.1080/01621459.1927.10502953

    Examples
    --------
    >>> t = overdue_share(np.array([1, 0, 0, 0] * 50, bool), np.repeat(np.arange(20), 10))
    >>> t[["n", "events", "share"]].values.tolist()
    [[200.0, 50.0, 0.25]]
    >>> bool(t["ci_lower"].iloc[0] < 0.25 < t["ci_upper"].iloc[0])
    True
    """
    check_alpha(alpha)
    y = np.asarray(overdue, dtype=bool)
    c = pd.factorize(pd.Series(np.asarray(cluster)))[0]
    if len(c) != len(y):
        raise ValueError(f"'cluster' has {len(c)} values for {len(y)} loans in 'overdue'")
    if (c < 0).any():
        raise ValueError("'cluster' is missing for some loans")
    g = pd.Series(np.full(len(y), _TOTAL, dtype=object) if group is None else np.asarray(group, dtype=object))
    if len(g) != len(y):
        raise ValueError(f"'group' has {len(g)} values for {len(y)} loans in 'overdue'")
    frame = pd.DataFrame({"group": g.to_numpy(object), "c": c, "y": y.astype(float)})
    rows = []
    for name, part in frame.groupby("group", sort=False):
        n = float(len(part))
        events = float(part["y"].sum())
        p = events / n
        per = part.groupby("c")["y"].agg(["sum", "size"])
        k = len(per)
        resid = per["sum"].to_numpy() - p * per["size"].to_numpy()
        var = k / (k - 1) * float((resid**2).sum()) / n**2 if k > 1 else np.nan
        srs = p * (1 - p) / n
        deff = max(1.0, var / srs) if srs > 0 and np.isfinite(var) else 1.0
        rows.append((name, n, events, p, np.sqrt(var) if np.isfinite(var) else np.nan, deff, k))
    out = pd.DataFrame(rows, columns=["group", "n", "events", "share", "se", "deff", "clusters"])
    lo, hi = _wilson(
        out["events"].to_numpy(), out["n"].to_numpy(), out["n"].to_numpy() / out["deff"].to_numpy(), _z(alpha)
    )
    out["ci_lower"], out["ci_upper"] = lo, hi
    return out[["group", "n", "events", "share", "se", "deff", "ci_lower", "ci_upper", "clusters"]]


def overdue_difference(shares: pd.DataFrame, *, reference: str) -> pd.DataFrame:
    """Each group's overdue share minus the ``reference`` group's, with Newcombe's hybrid score interval.

    The interval combines the two Wilson intervals of :func:`overdue_share`
    (``d − √((p₁−l₁)² + (u₂−p₂)²)``, ``d + √((u₁−p₁)² + (p₂−l₂)²)``; Newcombe 1998, method 10).
    It treats the two groups as independent; loans of two organisations in one commune share
    the commune's risk, which makes it somewhat wide rather than narrow.

    References
    ----------
    Newcombe, R. G. (1998). Interval estimation for the difference between independent
    proportions: comparison of eleven methods. *Statistics in Medicine* 17(8): 873–890.
    doi:10.1002/(SICI)1097-0258(19980430)17:8<873::AID-SIM779>3.0.CO;2-I

    Examples
    --------
    >>> s = pd.DataFrame({"group": ["a", "b"], "share": [0.1, 0.1], "ci_lower": [0.05, 0.05], "ci_upper": [0.2, 0.2]})
    >>> overdue_difference(s, reference="a")[["group", "difference"]].values.tolist()
    [['b', 0.0]]
    """
    require_frame(shares, "shares", ["group", "share", "ci_lower", "ci_upper"])
    ref = shares[shares["group"] == reference]
    if ref.empty:
        raise ValueError(f"reference {reference!r} is not a group of 'shares' (it has {shares['group'].tolist()})")
    p2, l2, u2 = (float(ref[c].iloc[0]) for c in ("share", "ci_lower", "ci_upper"))
    other = shares[shares["group"] != reference]
    p1, l1, u1 = (other[c].to_numpy(float) for c in ("share", "ci_lower", "ci_upper"))
    d = p1 - p2
    return pd.DataFrame(
        {
            "group": other["group"].to_numpy(object),
            "reference": reference,
            "difference": d,
            "ci_lower": d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
            "ci_upper": d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
        }
    )


@dataclass
class ChannelResults:
    """VBSP household lending by entrusted organisation (what :func:`by_channel` returns).

    Attributes
    ----------
    table : DataFrame
        One row per area (``by``, ``area``) and ``channel`` (the codes of
        :data:`~povanalysis.data.schema.CHANNELS`, then ``all``): ``loans``, ``households``
        (borrowing households), ``eligible`` (households eligible for a household programme
        in at least one loan year of the period, the same for every channel of an area),
        ``covered`` (eligible households that borrowed through the channel in a year they were
        eligible), ``coverage`` (``covered / eligible``), ``mean_amount`` (average loan, million
        VND), ``overdue_loans``, ``overdue_share``, ``overdue_ci_lower``, ``overdue_ci_upper``
        (:func:`overdue_share`) and ``deff``.  Counts are not suppressed here: the report
        applies the disclosure rule.
    differences : DataFrame
        Per area, each channel's overdue share minus the ``reference`` channel's, with an
        interval (:func:`overdue_difference`).
    loan_years : tuple of int
        The calendar years of the loans counted; the review held at the end of year ``Y − 1``
        sets eligibility for year ``Y`` (:func:`povanalysis.targeting.beneficiaries.eligibility`).
    cluster, reference : str
    alpha : float
    """

    table: pd.DataFrame
    differences: pd.DataFrame
    loan_years: tuple
    cluster: str
    reference: str
    alpha: float

    def to_frame(self) -> pd.DataFrame:
        """The table by area and channel."""
        return self.table.copy()

    def summary(self) -> str:
        """Plain-text table by channel (returned), English names; shares in percent."""
        level = round(100 * (1 - self.alpha))
        lines = [
            f"VBSP household loans by entrusted organisation, {self.loan_years[0]}–{self.loan_years[-1]} "
            f"(overdue share with {level}% interval clustered by {self.cluster})",
            f"{'area':<12} {'channel':<22} {'loans':>7} {'households':>10} {'coverage %':>10} "
            f"{'mean loan M':>11} {'overdue %':>9} {'interval %':>15}",
        ]
        for r in self.table.itertuples():
            name = CHANNEL_NAMES[r.channel][1] if r.channel in CHANNEL_NAMES else "All organisations"
            lines.append(
                f"{r.area:<12} {name:<22} {r.loans:>7,} {r.households:>10,} {100 * r.coverage:>10.1f} "
                f"{r.mean_amount:>11.1f} {100 * r.overdue_share:>9.2f} "
                f"[{100 * r.overdue_ci_lower:.2f}, {100 * r.overdue_ci_upper:.2f}]".rstrip()
            )
        return "\n".join(lines)


def _classified(households: pd.DataFrame) -> pd.DataFrame:
    if "poverty_class" in households.columns:
        return households
    from ..data.pipeline import classify_panel

    return classify_panel(households)


def by_channel(
    households: pd.DataFrame,
    loans: pd.DataFrame,
    *,
    by: str = "province",
    cluster: str = "commune_code",
    reference: str = "women",
    alpha: float = 0.05,
) -> ChannelResults:
    """Loans, borrowers, coverage of eligible households, average loan and overdue share by entrusted organisation.

    Eligibility is that of :func:`povanalysis.targeting.beneficiaries.eligibility`: the review
    held at the end of year ``Y − 1`` sets who may borrow in year ``Y`` (poor, near-poor, or
    off the lists for at most 3 years).  The period is the calendar years of the loans that
    follow a review of the panel (2022–2025 for the 2021–2024 reviews); a household eligible in
    any of them counts once among the eligible of its commune, and is covered by a channel when
    it borrowed through it in a year it was eligible.  The overdue share is the share of loans
    with overdue principal at the review the loan file reflects; its interval is clustered by
    ``cluster`` (the commune by default; ``group_code`` clusters by savings-and-credit group,
    whose members share risk) and built for rare events (:func:`overdue_share`).

    Parameters
    ----------
    households : DataFrame
        The review records (``household_id``, ``review_year``, ``commune_code``, and either
        ``poverty_class`` or what :func:`povanalysis.data.pipeline.classify_panel` needs).
    loans : DataFrame
        Loans with ``household_id``, ``disbursed``, ``amount``, ``channel`` and ``overdue``
        (and ``group_code`` for ``cluster="group_code"``), e.g. from
        :func:`povanalysis.data.io.read_loans`.
    by : {"province", "old_area", "commune_code"}
        The areas of the table besides the province (``province`` alone by default).
    cluster : {"commune_code", "group_code"}
    reference : str
        The channel the overdue differences are taken against.
    alpha : float
        The intervals have level ``1 - alpha``.

    Returns
    -------
    ChannelResults

    Examples
    --------
    >>> from povanalysis.data import synth
    >>> p = synth.generate(seed=5, scale=0.01)
    >>> r = by_channel(p.households, p.loans)
    >>> r.table["channel"].tolist()
    ['women', 'farmers', 'veterans', 'youth', 'all']
    >>> bool(r.table["covered"].iloc[:4].sum() == r.table["covered"].iloc[4])
    True
    """
    check_alpha(alpha)
    if by not in CHANNEL_BY:
        raise ValueError(f"'by' must be one of {CHANNEL_BY}, got {by!r}")
    if cluster not in ("commune_code", "group_code"):
        raise ValueError(f"'cluster' must be 'commune_code' or 'group_code', got {cluster!r}")
    if reference not in CHANNELS:
        raise ValueError(f"'reference' must be one of {CHANNELS}, got {reference!r}")
    require_frame(households, "households", ["household_id", "review_year", "commune_code"])
    needed = ["household_id", "disbursed", "amount", "channel", "overdue"] + (
        ["group_code"] if cluster == "group_code" else []
    )
    if "channel" not in loans.columns:
        raise ValueError(
            "loans have no 'channel' column: read a loan file with the entrusted organisation "
            "(channel, group_code, overdue; see povanalysis.data.io.read_loans)"
        )
    require_frame(loans, "loans", needed)
    bad = ~loans["channel"].isin(CHANNELS)
    if bad.any():
        row = loans.index[bad.to_numpy()][0]
        raise ValueError(
            f"loans column 'channel' must be one of {CHANNELS}, got {loans.at[row, 'channel']!r} at row {row!r}"
        )
    classified = _classified(households)
    elig = eligibility(classified)
    reviews = sorted(int(y) for y in classified["review_year"].unique())
    loan_years = tuple(y + 1 for y in reviews[:-1])
    home = classified.sort_values("review_year", kind="stable").drop_duplicates("household_id", keep="last")
    home = home.set_index("household_id")["commune_code"]
    if "old_area" in classified.columns:
        area_of = classified.drop_duplicates("commune_code").set_index("commune_code")["old_area"]
    else:
        from ..data import registry

        area_of = registry.units().set_index("commune_code")["old_area"]

    year = loans["disbursed"].dt.year.to_numpy()
    lo = loans[np.isin(year, loan_years)].copy()
    lo["loan_year"] = lo["disbursed"].dt.year.to_numpy()
    lo["commune_code"] = lo["household_id"].map(home)
    if lo["commune_code"].isna().any():
        missing = lo.loc[lo["commune_code"].isna(), "household_id"].iloc[0]
        raise ValueError(f"loan of household {missing!r} has no record in 'households'")
    eligible = elig[elig["eligible"] & elig["loan_year"].isin(loan_years)]
    eligible_keys = set(zip(eligible["household_id"], eligible["loan_year"]))
    lo["in_eligible_year"] = [k in eligible_keys for k in zip(lo["household_id"], lo["loan_year"])]
    eligible_households = eligible.drop_duplicates("household_id")[["household_id", "commune_code"]]

    def areas(frame: pd.DataFrame) -> pd.Series:
        if by == "province":
            return pd.Series("province", index=frame.index)
        if by == "old_area":
            return frame["commune_code"].map(area_of).astype(str)
        return frame["commune_code"].astype(str)

    lo["area"] = areas(lo)
    eligible_households = eligible_households.assign(area=areas(eligible_households))
    z_rows, diffs = [], []
    area_list = ["province"] if by == "province" else sorted(set(lo["area"]) | set(eligible_households["area"]))
    if by == "old_area":
        area_list = [a for a in ("thai_nguyen", "bac_kan") if a in area_list]
    for area in area_list:
        part = lo[lo["area"] == area]
        n_eligible = int((eligible_households["area"] == area).sum())
        shares = (
            overdue_share(
                part["overdue"].to_numpy(bool), part[cluster].to_numpy(object), group=part["channel"], alpha=alpha
            )
            if len(part)
            else None
        )
        total = (
            overdue_share(part["overdue"].to_numpy(bool), part[cluster].to_numpy(object), alpha=alpha)
            if len(part)
            else None
        )
        for channel in (*CHANNELS, _TOTAL):
            sub = part if channel == _TOTAL else part[part["channel"] == channel]
            covered = int(sub.loc[sub["in_eligible_year"], "household_id"].nunique())
            src = total if channel == _TOTAL else shares
            row = src[src["group"] == channel] if src is not None else pd.DataFrame()
            est = {c: float(row[c].iloc[0]) if len(row) else np.nan for c in ("share", "ci_lower", "ci_upper", "deff")}
            z_rows.append(
                (by, area, channel, len(sub), int(sub["household_id"].nunique()), n_eligible, covered,
                 covered / n_eligible if n_eligible else np.nan,
                 float(sub["amount"].mean()) / 1e6 if len(sub) else np.nan,
                 int(sub["overdue"].sum()), est["share"], est["ci_lower"], est["ci_upper"], est["deff"])
            )  # fmt: skip
        if shares is not None and reference in set(shares["group"]):
            diffs.append(overdue_difference(shares, reference=reference).assign(by=by, area=area))
    table = pd.DataFrame(
        z_rows,
        columns=["by", "area", "channel", "loans", "households", "eligible", "covered", "coverage", "mean_amount",
                 "overdue_loans", "overdue_share", "overdue_ci_lower", "overdue_ci_upper", "deff"],
    )  # fmt: skip
    differences = (
        pd.concat(diffs, ignore_index=True)[["by", "area", "group", "reference", "difference", "ci_lower", "ci_upper"]]
        if diffs
        else pd.DataFrame(columns=["by", "area", "group", "reference", "difference", "ci_lower", "ci_upper"])
    )
    return ChannelResults(
        table, differences.rename(columns={"group": "channel"}), loan_years, cluster, reference, alpha
    )
