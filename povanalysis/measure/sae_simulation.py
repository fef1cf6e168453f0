"""The small-area simulation study: direct estimates and Fay–Herriot EBLUPs of a sampled census against its truth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..common.checks import require_frame
from ..data.schema import DEPRIVATIONS, ETHNIC_MAJORITY
from .sae import FayHerriotResult, fay_herriot
from .standards import classify, standard_for_review
from .survey import direct_estimates, draw_two_stage_sample

__all__ = ["Demonstration", "demonstrate"]


def _admin_covariates(frame: pd.DataFrame) -> pd.DataFrame:
    """Commune means from the administrative review that do not use income."""
    needed = ["commune_code", "ethnicity", "area", "size"]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(f"'households' lacks the columns {missing} needed for the default covariates")
    deps = [c for c in DEPRIVATIONS if c in frame.columns]
    work = pd.DataFrame(
        {
            "commune_code": frame["commune_code"],
            "share_minority": (frame["ethnicity"] != ETHNIC_MAJORITY).astype(float),
            "share_urban": (frame["area"] == "urban").astype(float),
            "mean_size": frame["size"].astype(float),
            "mean_deprivations": frame[deps].sum(axis=1).astype(float) if deps else 0.0,
        }
    )
    return work.groupby("commune_code", sort=True).mean()


@dataclass(frozen=True, repr=False)
class Demonstration:
    """Design-based comparison of direct estimates and EBLUPs against a census truth.

    Attributes
    ----------
    target : str
        What is estimated per commune (``"poverty headcount"`` or a column name).
    review_year : int
    sample : DataFrame
        The survey sample of the first replicate (with ``weight``).
    fit : FayHerriotResult
        The model fitted on the first replicate.
    table : DataFrame
        Per commune (first replicate): ``truth``, ``sampled``, ``enumerated`` (every household
        sampled), ``n``, ``direct``, ``direct_se``, ``eblup`` (the EBLUP, or the exact direct
        value of an enumerated commune), ``eblup_se``, ``direct_cv``, ``eblup_cv``.
    mse_direct, mse_eblup : float
        Mean over replicates and sampled communes of the squared error against the truth.
    mse_synthetic : float
        The same for the synthetic predictions of unsampled communes (NaN if none).
    n_replicates : int
    """

    target: str
    review_year: int
    sample: pd.DataFrame
    fit: FayHerriotResult
    table: pd.DataFrame
    mse_direct: float
    mse_eblup: float
    mse_synthetic: float
    n_replicates: int

    @property
    def gain(self) -> float:
        """Relative reduction of the MSE: ``1 - mse_eblup / mse_direct``."""
        return 1.0 - self.mse_eblup / self.mse_direct

    def to_frame(self) -> pd.DataFrame:
        """The per-commune table."""
        return self.table.copy()

    def summary(self) -> str:
        """The comparison as text."""
        return "\n".join(
            [
                f"Small-area demonstration: {self.target}, review year {self.review_year}, "
                f"{self.n_replicates} sample(s)",
                f"sampled communes: {int(self.table['sampled'].sum())} of {len(self.table)}",
                f"MSE against the census: direct {self.mse_direct:.6g}, EBLUP {self.mse_eblup:.6g} "
                f"(gain {self.gain:.1%}); synthetic for unsampled communes {self.mse_synthetic:.6g}",
                "",
                self.fit.summary(),
            ]
        )


def demonstrate(
    households: pd.DataFrame,
    *,
    review_year: int,
    seed: int,
    y: str | None = None,
    n_communes: int = 40,
    n_households: int = 15,
    strata: str | None = None,
    covariates: pd.DataFrame | None = None,
    method: str = "REML",
    transform: str | None = "auto",
    n_replicates: int = 1,
) -> Demonstration:
    """Sample a synthetic census, estimate every commune directly and by Fay–Herriot, compare with the truth.

    For each replicate ``r`` a two-stage sample (``seed + r``) is drawn with
    :func:`povanalysis.measure.survey.draw_two_stage_sample`; direct Hájek estimates use the
    within-commune (second-stage) variance with its finite-population correction, which is
    the sampling error of the area-level model (for the arcsine model the effective sample
    size is Kish's divided by ``1 - n_c / N_c``); the model uses commune covariates from the
    full review that do not involve income (share of ethnic-minority households, share
    urban, mean household size and mean number of deprivations), so the comparison is not
    circular.  A commune whose households are all sampled (possible in a small synthetic
    census) is known exactly: it is left out of the model and keeps its direct value.

    Parameters
    ----------
    households : DataFrame
        The household review (all years allowed); the census truth is its commune mean.
    review_year : int
        The review year to use.
    seed : int
        Seed of the first sample.
    y : str, optional
        A numeric household column to estimate; by default the poverty headcount (``poor``
        under the review year's standard, :func:`povanalysis.measure.standards.classify`).
    n_communes, n_households : int
        Sample sizes of the two stages.
    strata : str, optional
        Commune-level stratification column of ``households``.
    covariates : DataFrame, optional
        Commune covariates indexed by ``commune_code`` instead of the defaults.
    method : {"REML", "ML", "FH"}
    transform : {"auto", None, "arcsin", "logit"}
        ``"auto"`` is ``"arcsin"`` (with Kish's effective sample sizes) for a 0/1 target and
        ``None`` otherwise.
    n_replicates : int
        Number of independent samples the MSEs average over.

    Returns
    -------
    Demonstration

    References
    ----------
    Rao, J. N. K. and Molina, I. (2015). *Small Area Estimation*, 2nd ed., ch. 6. Wiley.
    doi:10.1002/9781118735855

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> level = np.repeat(rng.normal(size=30), 40)
    >>> hh = pd.DataFrame({"household_id": np.arange(1200).astype(str), "review_year": 2024,
    ...                    "commune_code": np.repeat([f"{i:05d}" for i in range(30)], 40),
    ...                    "x": level, "income": level + rng.normal(scale=2.0, size=1200)})
    >>> cov = hh.groupby("commune_code")[["x"]].mean()
    >>> demo = demonstrate(hh, review_year=2024, seed=3, y="income", covariates=cov,
    ...                    n_communes=20, n_households=5)
    >>> bool(demo.mse_eblup < demo.mse_direct)
    True
    """
    require_frame(households, "households")
    if isinstance(n_replicates, bool) or not isinstance(n_replicates, (int, np.integer)) or n_replicates < 1:
        raise ValueError(f"n_replicates must be an integer >= 1, got {n_replicates!r}")
    if "review_year" not in households.columns:
        raise ValueError("'households' has no column 'review_year'")
    frame = households[households["review_year"] == review_year]
    if frame.empty:
        years = sorted(households["review_year"].unique().tolist())
        raise ValueError(f"review_year={review_year!r} is not in 'households' (years: {years})")
    frame = frame.copy()
    if y is None:
        flag = classify(frame, standard=standard_for_review(review_year)) == "poor"
        frame["_target"] = flag.astype(float)
        target = "poverty headcount"
    else:
        if y not in frame.columns:
            raise ValueError(f"y={y!r} is not a column of 'households'")
        frame["_target"] = pd.to_numeric(frame[y], errors="coerce").astype(float)
        target = y
    binary = bool(frame["_target"].isin([0.0, 1.0]).all())
    if transform == "auto":
        transform = "arcsin" if binary else None
    truth = frame.groupby("commune_code", sort=True)["_target"].mean().rename("truth")
    sizes = frame.groupby("commune_code", sort=True).size()
    if covariates is None:
        covariates = _admin_covariates(frame)
    missing = truth.index.difference(covariates.index)
    if len(missing):
        raise ValueError(f"'covariates' has no row for communes {missing[:5].tolist()}")
    covariates = covariates.loc[truth.index]

    sq_direct, sq_eblup, sq_synth = [], [], []
    first = None
    for r in range(n_replicates):
        sample = draw_two_stage_sample(
            frame, n_communes=n_communes, n_households=n_households, seed=seed + r, strata=strata
        )
        sample["_N"] = sample["commune_code"].map(sizes)
        direct = direct_estimates(
            sample, y="_target", domain="commune_code", weight="weight", strata="commune_code", fpc="_N"
        )
        direct = direct.set_index("commune_code").reindex(truth.index)
        sampled = direct["n"].notna()
        enumerated = direct["n"] == sizes
        model = direct.mask(enumerated, axis=0)
        fit = fay_herriot(
            model["estimate"],
            model["variance"],
            covariates,
            method=method,
            transform=transform,
            n_eff=model["n_eff"] / (1.0 - model["n"] / sizes) if transform == "arcsin" else None,
        )
        estimate = fit.eblup.where(~enumerated, direct["estimate"])
        sq_direct.append(((direct["estimate"] - truth)[sampled] ** 2).to_numpy())
        sq_eblup.append(((estimate - truth)[sampled] ** 2).to_numpy())
        sq_synth.append(((estimate - truth)[~sampled] ** 2).to_numpy())
        if first is None:
            first = (sample, fit, direct, sampled, enumerated, estimate)
    sample, fit, direct, sampled, enumerated, estimate = first
    table = pd.DataFrame(
        {
            "truth": truth,
            "sampled": sampled,
            "enumerated": enumerated,
            "n": direct["n"].fillna(0).astype(int),
            "direct": direct["estimate"],
            "direct_se": direct["se"],
            "eblup": estimate,
            "eblup_se": np.sqrt(fit.mse).where(~enumerated, 0.0),
            "direct_cv": direct["cv"],
            "eblup_cv": fit.cv.where(~enumerated, 0.0),
        }
    )
    synth = np.concatenate(sq_synth)
    return Demonstration(
        target=target,
        review_year=int(review_year),
        sample=sample.drop(columns=["_target", "_N"]),
        fit=fit,
        table=table,
        mse_direct=float(np.concatenate(sq_direct).mean()),
        mse_eblup=float(np.concatenate(sq_eblup).mean()),
        mse_synthetic=float(synth.mean()) if synth.size else float("nan"),
        n_replicates=int(n_replicates),
    )
