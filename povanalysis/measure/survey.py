"""Survey samples of households and their design-based direct estimates per domain."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..common.checks import require_frame, to_python

__all__ = ["draw_two_stage_sample", "direct_estimates"]


def _frame(data, name: str) -> pd.DataFrame:
    require_frame(data, name)
    return data


def _column(data: pd.DataFrame, column, argument: str, frame: str) -> pd.Series:
    if not isinstance(column, str):
        raise TypeError(f"{argument!r} should be a column name (str), got {type(column).__name__}")
    if column not in data.columns:
        raise ValueError(f"{argument}={column!r} is not a column of {frame!r}; columns are {list(data.columns)}")
    return data[column]


def _allocate(sizes: pd.Series, total: int) -> pd.Series:
    """Largest-remainder allocation of ``total`` proportional to ``sizes``, at least 1 per group."""
    if total < len(sizes):
        raise ValueError(f"n_communes={total} is fewer than the {len(sizes)} strata; each stratum needs one commune")
    share = sizes / sizes.sum() * total
    alloc = np.maximum(np.floor(share).astype(int), 1)
    order = (share - np.floor(share)).sort_values(ascending=False, kind="stable").index
    for key in order:
        if alloc.sum() >= total:
            break
        if alloc[key] < sizes[key]:
            alloc[key] += 1
    while alloc.sum() > total:
        key = (alloc - share).idxmax()
        alloc[key] -= 1
    return np.minimum(alloc, sizes)


def draw_two_stage_sample(
    households: pd.DataFrame,
    *,
    n_communes: int,
    n_households: int,
    seed: int,
    strata: str | None = None,
    commune: str = "commune_code",
) -> pd.DataFrame:
    """Draw a stratified two-stage sample: communes, then households within each commune.

    Stage 1 selects communes by simple random sampling without replacement within each
    stratum (proportional allocation, at least one commune per stratum); stage 2 selects
    ``n_households`` households by simple random sampling without replacement in each
    selected commune (all of them when the commune has fewer).  The design weight is the
    inverse of the product of the two inclusion probabilities,
    ``(M_h / m_h) * (N_c / n_c)``.

    Parameters
    ----------
    households : DataFrame
        The frame: one row per household of a single review year, with ``commune``.
    n_communes : int
        Total number of communes to select.
    n_households : int
        Households to select per selected commune (at least 1).
    seed : int
        Seed of the random generator; the same frame and seed give the same sample.
    strata : str, optional
        A column constant within each commune that stratifies the first stage.
    commune : str
        The column of commune codes (the primary sampling units).

    Returns
    -------
    DataFrame
        The selected households (rows of ``households``, sorted by commune and
        ``household_id``) with ``pi_commune``, ``pi_household`` and ``weight``.

    References
    ----------
    Lohr, S. L. (2022). *Sampling: Design and Analysis*, 3rd ed., ch. 6. CRC Press.
    doi:10.1201/9780429298899

    Examples
    --------
    >>> hh = pd.DataFrame({"household_id": [f"h{i}" for i in range(12)],
    ...                    "commune_code": ["00001"] * 6 + ["00002"] * 4 + ["00003"] * 2})
    >>> s = draw_two_stage_sample(hh, n_communes=2, n_households=2, seed=1)
    >>> s.groupby("commune_code")["weight"].sum().round(6).to_dict()  # N_c * 3 / 2
    {'00001': 9.0, '00002': 6.0}
    """
    households = _frame(households, "households")
    codes = _column(households, commune, "commune", "households")
    if codes.isna().any():
        raise ValueError(f"column {commune!r} has missing codes in {int(codes.isna().sum())} rows")
    if "review_year" in households.columns and households["review_year"].nunique() > 1:
        years = sorted(households["review_year"].unique().tolist())
        raise ValueError(f"'households' holds review years {years}; pass the frame of one review year")
    for name, value, low in (("n_communes", n_communes, 1), ("n_households", n_households, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if strata is None:
        frame_strata = pd.Series("all", index=households.index)
    else:
        frame_strata = _column(households, strata, "strata", "households")
        per_commune = frame_strata.groupby(codes).nunique(dropna=False)
        if (per_commune > 1).any():
            bad = per_commune[per_commune > 1].index[0]
            raise ValueError(
                f"strata={strata!r} must be constant within each commune; commune {bad!r} has several values"
            )
    communes = (
        pd.DataFrame({"commune": codes, "stratum": frame_strata})
        .groupby("commune", sort=True)
        .agg(stratum=("stratum", "first"), size=("stratum", "size"))
    )
    if n_communes > len(communes):
        raise ValueError(f"n_communes={n_communes} exceeds the {len(communes)} communes in the frame")
    rng = np.random.default_rng(seed)
    per_stratum = communes.groupby("stratum", sort=True).size()
    alloc = _allocate(per_stratum, n_communes)
    chosen = []
    for stratum, m_h in alloc.items():
        pool = communes.index[communes["stratum"] == stratum].to_numpy()
        picked = np.sort(rng.choice(pool, size=int(m_h), replace=False))
        chosen.append(pd.DataFrame({"commune": picked, "pi_commune": m_h / len(pool)}))
    first = pd.concat(chosen, ignore_index=True).sort_values("commune", kind="stable")
    order_cols = [commune] + (["household_id"] if "household_id" in households.columns else [])
    parts = []
    for code, pi1 in zip(first["commune"], first["pi_commune"]):
        members = households[codes == code].sort_values(order_cols, kind="stable")
        n_c = min(n_households, len(members))
        take = np.sort(rng.choice(len(members), size=n_c, replace=False))
        part = members.iloc[take].copy()
        part["pi_commune"] = float(pi1)
        part["pi_household"] = n_c / len(members)
        parts.append(part)
    sample = pd.concat(parts)
    sample["weight"] = 1.0 / (sample["pi_commune"] * sample["pi_household"])
    return sample


def direct_estimates(
    sample: pd.DataFrame,
    *,
    y: str,
    domain: str,
    weight: str,
    strata: str | None = None,
    cluster: str | None = None,
    fpc: str | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Hájek estimates of domain means (or rates) with Taylor-linearised design variances.

    The domain mean is the ratio ``sum(w y) / sum(w)`` over the domain's sample.  Its
    variance is the with-replacement (ultimate cluster) approximation: the linearised
    values ``z_k = w_k (y_k - ybar_d) / N_d`` inside the domain and ``0`` outside it are
    summed per cluster, and ``sum_h n_h / (n_h - 1) * sum_i (z_hi - zbar_h)**2`` over
    strata ``h`` with ``n_h`` clusters, times ``1 - n_h / N_h`` when ``fpc`` gives the
    population count ``N_h``.  Domains are subpopulations: clusters without domain members
    still count in ``n_h``.  A 0/1 ``y`` gives a rate (e.g. the poverty headcount).

    Parameters
    ----------
    sample : DataFrame
        One row per sampled unit.
    y : str
        The numeric study variable (0/1 for a rate).
    domain : str
        Column of domain labels (e.g. ``commune_code``).
    weight : str
        Column of design weights (positive).
    strata : str, optional
        Column of strata; one stratum when omitted.
    cluster : str, optional
        Column of primary sampling units, nested in strata; each row is its own unit
        when omitted.  To get the within-commune sampling variance that area-level models
        need, pass ``strata=<commune>``, no cluster, and the commune's household count as
        ``fpc``.
    fpc : str, optional
        Column holding ``N_h``, the population number of primary sampling units of the
        row's stratum (constant within a stratum); no finite-population correction when
        omitted (sampling with replacement).
    level : float
        Confidence level of the normal-theory interval.

    Returns
    -------
    DataFrame
        One row per domain (sorted): ``domain`` column named as ``domain``, ``estimate``,
        ``se``, ``variance``, ``ci_lower``, ``ci_upper``, ``cv`` (se / estimate), ``n``
        (sampled units) and ``n_eff`` (Kish's effective size ``(sum w)**2 / sum w**2``).

    References
    ----------
    Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed., ch. 6. Springer.
    doi:10.1007/978-0-387-35099-8

    Examples
    --------
    >>> s = pd.DataFrame({"d": ["a", "a", "a", "b", "b"], "y": [1, 0, 0, 1, 1],
    ...                   "w": [1.0, 1.0, 2.0, 1.0, 1.0]})
    >>> out = direct_estimates(s, y="y", domain="d", weight="w")
    >>> out[["d", "estimate", "n"]].values.tolist()
    [['a', 0.25, 3], ['b', 1.0, 2]]
    """
    sample = _frame(sample, "sample")
    values = pd.to_numeric(_column(sample, y, "y", "sample"), errors="coerce").astype("float64")
    if values.isna().any():
        row = sample.index[values.isna().to_numpy()][0]
        value = to_python(sample.loc[row, y])
        raise ValueError(f"y={y!r} must be numeric without missing values; row {row!r} has {value!r}")
    w = pd.to_numeric(_column(sample, weight, "weight", "sample"), errors="coerce").astype("float64")
    bad = w.isna() | ~(w > 0)
    if bad.any():
        row = sample.index[bad.to_numpy()][0]
        raise ValueError(f"weight={weight!r} must be positive; row {row!r} has {to_python(sample.loc[row, weight])!r}")
    dom = _column(sample, domain, "domain", "sample")
    if dom.isna().any():
        raise ValueError(f"domain={domain!r} has missing labels in {int(dom.isna().sum())} rows")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    stratum = _column(sample, strata, "strata", "sample") if strata is not None else pd.Series(0, index=sample.index)
    if cluster is None:
        psu = pd.Series(np.arange(len(sample)), index=sample.index)
    else:
        psu = _column(sample, cluster, "cluster", "sample")
    work = pd.DataFrame(
        {"d": dom.to_numpy(), "h": stratum.to_numpy(), "i": psu.to_numpy(), "y": values.to_numpy(), "w": w.to_numpy()}
    )
    n_h = work.groupby("h", sort=False)["i"].nunique()
    if (n_h < 2).any():
        lonely = n_h[n_h < 2].index.tolist()
        raise ValueError(f"strata {lonely} have a single primary sampling unit; their variance cannot be estimated")
    factor = pd.Series(1.0, index=n_h.index)
    if fpc is not None:
        work["N"] = pd.to_numeric(_column(sample, fpc, "fpc", "sample"), errors="coerce").to_numpy()
        N_h = work.groupby("h", sort=False)["N"].agg(["min", "max"])
        bad = N_h["min"].isna() | (N_h["min"] != N_h["max"]) | (N_h["min"] < n_h)
        if bad.any():
            h = bad[bad].index[0]
            raise ValueError(
                f"fpc={fpc!r} must be one number per stratum, at least the {int(n_h[h])} sampled units; "
                f"stratum {to_python(h)!r} has {N_h.loc[h, 'min']!r} to {N_h.loc[h, 'max']!r}"
            )
        factor = 1.0 - n_h / N_h["min"]
    grouped = work.groupby("d", sort=True)
    n_hat = grouped["w"].sum()
    mean = (work["w"] * work["y"]).groupby(work["d"], sort=True).sum() / n_hat
    work["z"] = work["w"] * (work["y"] - work["d"].map(mean)) / work["d"].map(n_hat)
    z_psu = work.groupby(["d", "h", "i"], sort=False)["z"].sum().rename("z").reset_index()
    z_psu["z2"] = z_psu["z"] ** 2
    by_h = z_psu.groupby(["d", "h"], sort=False).agg(s1=("z", "sum"), s2=("z2", "sum")).reset_index()
    nh = by_h["h"].map(n_h).to_numpy(dtype="float64")
    by_h["v"] = by_h["h"].map(factor).to_numpy() * nh / (nh - 1.0) * (by_h["s2"] - by_h["s1"] ** 2 / nh)
    variance = by_h.groupby("d", sort=True)["v"].sum().reindex(mean.index).clip(lower=0.0)
    se = np.sqrt(variance)
    z = stats.norm.ppf(0.5 + level / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = se / mean.abs()
    out = pd.DataFrame(
        {
            domain: mean.index,
            "estimate": mean.to_numpy(),
            "se": se.to_numpy(),
            "variance": variance.to_numpy(),
            "ci_lower": (mean - z * se).to_numpy(),
            "ci_upper": (mean + z * se).to_numpy(),
            "cv": cv.to_numpy(),
            "n": grouped.size().to_numpy(),
            "n_eff": (n_hat**2 / grouped["w"].apply(lambda s: float((s**2).sum()))).to_numpy(),
        }
    )
    return out
