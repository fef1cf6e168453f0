"""Tests of povanalysis.measure.sae: the Fay–Herriot model against published and hand-derived values."""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import integrate, optimize, special, stats

from povanalysis.measure import sae
from povanalysis.measure.sae import ConvergenceError, ConvergenceWarning, benchmark, fay_herriot

DATA = Path(__file__).parents[1] / "fixtures"

# Reference values of R's sae package on its `milk` example (tests/fixtures/milk.csv),
# mseFH(yi ~ as.factor(MajorArea), SD^2, method=...), as recorded at R's printed precision
# (7 significant digits) in samplics' test suite, tests/sae/test_eblup_area_model.py
# (github.com/samplics-org/samplics).  R's sae stops when the relative change of sigma2_u
# is below PRECISION = 1e-4; fitted with tol=1e-4 our iterates are R's and every printed
# digit is reproduced.  They include ML, which samplics' own ML fit does not reach.
R_REML_COEF = [0.9681890, 0.1327801, 0.2269462, -0.2413011]
R_REML_SE = [0.06936208, 0.10300072, 0.09232981, 0.08161707]
R_REML_EBLUP = [
    1.0219703,
    1.0476018,
    1.0679513,
    0.7608170,
    0.8461574,
    0.9743727,
    1.0584523,
    1.0977762,
    1.2215449,
    1.1951455,
    0.7852155,
    1.2139456,
    1.2096593,
    0.9834967,
    1.1864247,
    1.1556982,
    1.2263411,
    1.2856486,
    1.2363247,
    1.2349600,
    1.0903019,
    1.1923057,
    1.1216470,
    1.2230296,
    1.1938054,
    0.7627195,
    0.7649550,
    0.7338443,
    0.7699294,
    0.6134418,
    0.7695558,
    0.7958250,
    0.7723187,
    0.6102302,
    0.7001782,
    0.7592787,
    0.5298867,
    0.7434466,
    0.7548996,
    0.7701918,
    0.7481164,
    0.8040773,
    0.6810870,
]
R_REML_MSE = [
    0.013460220,
    0.005372876,
    0.005701990,
    0.008541740,
    0.009579594,
    0.011670632,
    0.015926137,
    0.010586518,
    0.014184043,
    0.014901472,
    0.007694262,
    0.016336469,
    0.012562726,
    0.012117378,
    0.012031229,
    0.011709147,
    0.010859780,
    0.013690860,
    0.011034674,
    0.013079686,
    0.009948636,
    0.017243977,
    0.011292325,
    0.013625297,
    0.008065787,
    0.009205133,
    0.009205133,
    0.016476912,
    0.007800626,
    0.006098668,
    0.015441564,
    0.014657866,
    0.009024699,
    0.003870786,
    0.007800626,
    0.009646139,
    0.006404335,
    0.010155645,
    0.007209937,
    0.008470277,
    0.005484860,
    0.009205133,
    0.009903626,
]
R_ML_COEF = [0.9677986, 0.1278756, 0.2266909, -0.2425804]
R_ML_SE = [0.06590747, 0.09840939, 0.08813973, 0.07753875]
R_ML_EBLUP = [
    1.0161733,
    1.0436968,
    1.0628168,
    0.7753489,
    0.8554903,
    0.9735857,
    1.0474786,
    1.0953436,
    1.2054092,
    1.1812565,
    0.8033701,
    1.1967756,
    1.1961592,
    0.9914053,
    1.1868829,
    1.1590363,
    1.2232369,
    1.2755188,
    1.2322850,
    1.2304422,
    1.0985768,
    1.1921598,
    1.1279920,
    1.2196285,
    1.1936256,
    0.7590651,
    0.7611232,
    0.7315647,
    0.7662730,
    0.6191454,
    0.7629389,
    0.7863747,
    0.7679782,
    0.6141348,
    0.7013109,
    0.7557564,
    0.5406643,
    0.7411316,
    0.7524506,
    0.7662423,
    0.7465360,
    0.7971405,
    0.6840976,
]
R_ML_MSE = [
    0.013579953,
    0.005512868,
    0.005850584,
    0.008735454,
    0.009774528,
    0.011840745,
    0.015934511,
    0.010821811,
    0.014345961,
    0.015036089,
    0.007911095,
    0.016404523,
    0.012771021,
    0.012334611,
    0.012192499,
    0.011877067,
    0.011041285,
    0.013805155,
    0.011213853,
    0.013213712,
    0.010138289,
    0.017193729,
    0.011467631,
    0.013741841,
    0.008251436,
    0.009344874,
    0.009344874,
    0.016390149,
    0.007941642,
    0.006222263,
    0.015404327,
    0.014655741,
    0.009165440,
    0.003946977,
    0.007941642,
    0.009782385,
    0.006532467,
    0.010285994,
    0.007347143,
    0.008612538,
    0.005597690,
    0.009344874,
    0.010037140,
]
R_FH_EBLUP = [
    1.017975,
    1.044963,
    1.064480,
    0.770692,
    0.852512,
    0.973826,
    1.050856,
    1.096165,
    1.210505,
    1.185640,
    0.797568,
    1.202149,
    1.200458,
    0.988971,
    1.186745,
    1.157992,
    1.224223,
    1.278680,
    1.233565,
    1.231860,
    1.095955,
    1.192212,
    1.125997,
    1.220694,
    1.193687,
    0.760243,
    0.762358,
    0.732288,
    0.767459,
    0.617310,
    0.764996,
    0.789314,
    0.769376,
    0.612861,
    0.700961,
    0.756890,
    0.537193,
    0.741881,
    0.753251,
    0.767518,
    0.747059,
    0.799363,
    0.683160,
]
R_FH_MSE = [
    0.012757016,
    0.005314467,
    0.005632201,
    0.008323471,
    0.009283520,
    0.011178151,
    0.014867662,
    0.010252709,
    0.013470878,
    0.014094867,
    0.007558331,
    0.015325274,
    0.012038944,
    0.011640323,
    0.011466958,
    0.011181888,
    0.010423673,
    0.012914353,
    0.010580561,
    0.012385544,
    0.009599980,
    0.015890240,
    0.010810966,
    0.012857861,
    0.007864537,
    0.008855177,
    0.008855177,
    0.015041526,
    0.007569376,
    0.005975211,
    0.014211800,
    0.013571949,
    0.008691547,
    0.003833361,
    0.007569376,
    0.009253153,
    0.006264329,
    0.009709450,
    0.007020470,
    0.008185874,
    0.005391055,
    0.008855177,
    0.009484220,
]
REFERENCE = {
    "REML": (R_REML_EBLUP, R_REML_MSE),
    "ML": (R_ML_EBLUP, R_ML_MSE),
    "FH": (R_FH_EBLUP, R_FH_MSE),
}


@pytest.fixture(scope="module")
def milk():
    data = pd.read_csv(DATA / "milk.csv", comment="#")
    assert len(data) == 43 and data["MajorArea"].nunique() == 4
    X = pd.get_dummies(data["MajorArea"].astype("category"), prefix="major", drop_first=True).astype(float)
    return data["yi"].astype(float), (data["SD"] ** 2).astype(float), X


@pytest.fixture(scope="module")
def fits(milk):
    y, D, X = milk
    return {m: fay_herriot(y, D, X, method=m) for m in ("REML", "ML", "FH")}


# --------------------------------------------------------------------------- R sae's milk example


@pytest.mark.parametrize("method", ["REML", "ML", "FH"])
def test_milk_matches_r_sae_to_required_tolerance(fits, method):
    eblup, mse = REFERENCE[method]
    res = fits[method]
    assert res.converged and not res.at_boundary
    assert_allclose(res.eblup, eblup, rtol=0, atol=1e-5)
    assert_allclose(res.mse, mse, rtol=0, atol=1e-6)


@pytest.mark.parametrize("method", ["REML", "ML", "FH"])
def test_milk_with_r_stopping_rule_reproduces_every_printed_digit(milk, method):
    y, D, X = milk
    res = fay_herriot(y, D, X, method=method, tol=1e-4)
    eblup, mse = REFERENCE[method]
    digits = 1e-6 if method == "FH" else 6e-8  # the FH EBLUPs are recorded truncated to 6 decimals
    assert_allclose(res.eblup, eblup, rtol=0, atol=digits)
    assert_allclose(res.mse, mse, rtol=0, atol=6e-10)
    if method != "FH":
        coef, se = (R_REML_COEF, R_REML_SE) if method == "REML" else (R_ML_COEF, R_ML_SE)
        assert_allclose(res.coef, coef, rtol=0, atol=6e-8)
        assert_allclose(res.coef_se, se, rtol=0, atol=6e-9)
    assert res.n_iter == (3 if method == "FH" else 4)


def test_milk_fitted_values_pinned(fits):
    # Our own converged values (tol=1e-8), for regression.
    assert_allclose(fits["REML"].sigma2_u, 0.0185503348, rtol=1e-8)
    assert_allclose(fits["ML"].sigma2_u, 0.0155175087, rtol=1e-8)
    assert_allclose(fits["FH"].sigma2_u, 0.0164202637, rtol=1e-8)
    assert list(fits["REML"].coef.index) == ["intercept", "major_2", "major_3", "major_4"]


@pytest.mark.parametrize("method", ["REML", "FH"])
def test_milk_agrees_with_recorded_samplics_outputs(milk, method):
    # samplics' outputs on the same data, recorded once (tests/fixtures/samplics_milk_fh.json).
    y, D, X = milk
    recorded = json.loads((DATA / "samplics_milk_fh.json").read_text(encoding="utf-8"))[method]
    res = fay_herriot(y, D, X, method=method, tol=1e-12)
    assert_allclose(res.sigma2_u, recorded["sigma2_u"], rtol=1e-9)
    assert_allclose(res.coef, recorded["coef"], rtol=0, atol=1e-10)
    assert_allclose(res.eblup, recorded["eblup"], rtol=0, atol=1e-10)
    assert_allclose(res.mse, recorded["mse"], rtol=0, atol=1e-10)


@pytest.mark.parametrize("method", ["REML", "FH"])
def test_milk_agrees_with_samplics_where_samplics_is_correct(milk, fits, method):
    # The same comparison against samplics itself, when it is installed (an archived library).
    eblup_area = pytest.importorskip("samplics.sae.eblup_area_model")
    types = pytest.importorskip("samplics.utils.types")
    y, D, X = milk
    model = eblup_area.EblupAreaModel(method=getattr(types.FitMethod, method.lower()))
    area = np.arange(len(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(
            yhat=y.to_numpy(),
            X=X.to_numpy(),
            area=area,
            error_std=np.sqrt(D.to_numpy()),
            intercept=True,
            tol=1e-12,
            maxiter=200,
        )
        model.predict(X=X.to_numpy(), area=area, intercept=True)
    res = fay_herriot(y, D, X, method=method, tol=1e-12)
    assert_allclose(res.sigma2_u, model.re_std**2, rtol=1e-9)
    assert_allclose(res.coef, model.fixed_effects, rtol=0, atol=1e-10)
    assert_allclose(res.eblup, list(model.area_est.values()), rtol=0, atol=1e-10)
    assert_allclose(res.mse, list(model.area_mse.values()), rtol=0, atol=1e-10)


# --------------------------------------------------------------------------- independent checks


def _profile_loglike(A, y, D, X):
    V = A + D
    beta = np.linalg.solve((X.T / V) @ X, (X.T / V) @ y)
    return stats.multivariate_normal.logpdf(y, X @ beta, np.diag(V))


def _restricted_loglike(A, y, D, X):
    V = A + D
    XtViX = (X.T / V) @ X
    beta = np.linalg.solve(XtViX, (X.T / V) @ y)
    r = y - X @ beta
    return -0.5 * (np.log(V).sum() + np.linalg.slogdet(XtViX)[1] + (r**2 / V).sum())


def test_loglike_is_the_gaussian_density_of_the_direct_estimates(milk, fits):
    y, D, X = milk
    Xv = np.column_stack([np.ones(len(y)), X.to_numpy()])
    for res in fits.values():
        cov = np.diag(res.sigma2_u + D.to_numpy())
        expected = stats.multivariate_normal.logpdf(y.to_numpy(), Xv @ res.coef.to_numpy(), cov)
        assert_allclose(res.loglike, expected, rtol=1e-12)
        assert_allclose(res.aic, -2 * expected + 2 * 5, rtol=1e-12)
        assert_allclose(res.bic, -2 * expected + 5 * np.log(43), rtol=1e-12)


def test_ml_estimate_maximises_the_likelihood(milk, fits):
    y, D, X = milk
    args = (y.to_numpy(), D.to_numpy(), np.column_stack([np.ones(len(y)), X.to_numpy()]))
    best = optimize.minimize_scalar(
        lambda a: -_profile_loglike(a, *args), bounds=(0, 0.2), method="bounded", options={"xatol": 1e-12}
    )
    assert_allclose(fits["ML"].sigma2_u, best.x, rtol=1e-6)
    assert_allclose(fits["ML"].loglike, -best.fun, rtol=1e-12)
    grid = np.linspace(0.0, 0.06, 601)
    assert fits["ML"].loglike >= max(_profile_loglike(a, *args) for a in grid)


def test_reml_estimate_maximises_the_restricted_likelihood(milk, fits):
    y, D, X = milk
    args = (y.to_numpy(), D.to_numpy(), np.column_stack([np.ones(len(y)), X.to_numpy()]))
    best = optimize.minimize_scalar(
        lambda a: -_restricted_loglike(a, *args), bounds=(0, 0.2), method="bounded", options={"xatol": 1e-12}
    )
    assert_allclose(fits["REML"].sigma2_u, best.x, rtol=1e-6)


def test_fh_estimate_solves_the_moment_equation(milk, fits):
    y, D, X = milk
    res = fits["FH"]
    Xv = np.column_stack([np.ones(len(y)), X.to_numpy()])
    r = y.to_numpy() - Xv @ res.coef.to_numpy()
    assert_allclose((r**2 / (res.sigma2_u + D.to_numpy())).sum(), 43 - 4, rtol=1e-9)


def test_datta_lahiri_mse_by_hand(milk, fits):
    """ML MSE of area 1 from Rao & Molina (2015), eq. (6.2.35)-(6.2.37), written out with full matrices."""
    y, D, X = milk
    res = fits["ML"]
    A, d = res.sigma2_u, D.to_numpy()
    Xv = np.column_stack([np.ones(len(y)), X.to_numpy()])
    V = np.diag(A + d)
    Vinv = np.linalg.inv(V)
    cov_beta = np.linalg.inv(Xv.T @ Vinv @ Xv)
    info = 0.5 * np.trace(Vinv @ Vinv)  # expected information of A
    bias_ml = -np.trace(cov_beta @ Xv.T @ Vinv @ Vinv @ Xv) / (2 * info)
    i = 0
    Bi = d[i] / (A + d[i])
    g1 = A * d[i] / (A + d[i])
    g2 = Bi**2 * Xv[i] @ cov_beta @ Xv[i]
    g3 = Bi**2 / (A + d[i]) * (1 / info)
    expected = g1 + g2 + 2 * g3 - bias_ml * Bi**2
    assert_allclose(res.mse.iloc[0], expected, rtol=1e-12)
    comp = res.mse_components.iloc[0]
    assert_allclose([comp.g1, comp.g2, comp.g3], [g1, g2, g3], rtol=1e-12)
    assert res.mse_method == "datta-lahiri"
    assert fits["REML"].mse_method == "prasad-rao"


def test_per_area_outputs_are_in_input_order(milk):
    y, D, X = milk
    order = np.random.default_rng(5).permutation(len(y))
    a = fay_herriot(y, D, X)
    b = fay_herriot(y.iloc[order], D.iloc[order], X.iloc[order])
    assert list(b.eblup.index) == list(y.index[order])
    assert_allclose(b.eblup.to_numpy(), a.eblup.to_numpy()[order], rtol=1e-10)
    assert_allclose(b.gamma.to_numpy(), a.gamma.to_numpy()[order], rtol=1e-10)
    assert_allclose(a.gamma, a.sigma2_u / (a.sigma2_u + D), rtol=1e-12)


def test_unsampled_areas_get_synthetic_predictions(milk, fits):
    y, D, X = milk
    y2, D2 = y.copy(), D.copy()
    y2.iloc[[3, 10]] = np.nan
    D2.iloc[[3, 10]] = np.nan
    res = fay_herriot(y2, D2, X)
    keep = np.ones(len(y), dtype=bool)
    keep[[3, 10]] = False
    sub = fay_herriot(y[keep], D[keep], X[keep])
    assert_allclose(res.sigma2_u, sub.sigma2_u, rtol=1e-12)
    assert_allclose(res.eblup[keep], sub.eblup, rtol=1e-12)
    x = np.r_[1.0, X.iloc[3].to_numpy()]
    Xs = np.column_stack([np.ones(keep.sum()), X[keep].to_numpy()])
    Q = np.linalg.inv((Xs.T / (sub.sigma2_u + D[keep].to_numpy())) @ Xs)
    assert_allclose(res.eblup.iloc[3], x @ sub.coef.to_numpy(), rtol=1e-12)
    assert_allclose(res.mse.iloc[3], sub.sigma2_u + x @ Q @ x, rtol=1e-10)
    assert not res.sampled.iloc[3] and res.gamma.iloc[3] == 0
    assert res.to_frame().loc[3, "direct"] != res.to_frame().loc[3, "direct"]  # NaN


def test_boundary_estimate_is_zero_and_reported():
    x = np.arange(1.0, 9.0)
    y = 2 + 0.5 * x + np.array([0.1, -0.1, 0.05, -0.05, 0.1, -0.1, 0.0, 0.02])
    res = fay_herriot(y, np.full(8, 1.0), x[:, None])
    assert res.sigma2_u == 0.0 and res.at_boundary and res.converged
    assert_allclose(res.gamma, 0.0)
    assert_allclose(res.eblup, res.synthetic, rtol=1e-12)
    assert "boundary" in res.summary()


def test_nonconvergence_raises_or_warns(milk):
    y, D, X = milk
    with pytest.raises(ConvergenceError, match=r"did not converge in max_iter=2 iterations"):
        fay_herriot(y, D, X, max_iter=2)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        res = fay_herriot(y, D, X, max_iter=2, on_nonconvergence="warn")
    assert not res.converged and res.n_iter == 2


# --------------------------------------------------------------------------- transformations, bootstrap, benchmarking


def _rates():
    rng = np.random.default_rng(11)
    m = 30
    x = rng.uniform(0, 1, m)
    n = rng.integers(8, 30, m)
    p_true = np.clip(0.1 + 0.3 * x + rng.normal(0, 0.12, m), 0.01, 0.9)
    p = rng.binomial(n, p_true) / n
    return p, p * (1 - p) / n, n, x


def test_arcsin_model_scale_and_backtransforms():
    p, v, n, x = _rates()
    naive = fay_herriot(p, v, x[:, None], transform="arcsin", n_eff=n, backtransform="naive")
    bc = fay_herriot(p, v, x[:, None], transform="arcsin", n_eff=n)
    assert bc.sigma2_u > 0.005
    direct_t = np.arcsin(np.sqrt(p))
    D_t = 1 / (4 * n)
    plain = fay_herriot(direct_t, D_t, x[:, None])
    assert_allclose(naive.eblup_link, plain.eblup, rtol=1e-12)
    assert_allclose(naive.mse_link, plain.mse, rtol=1e-12)
    assert_allclose(naive.eblup, np.sin(np.clip(plain.eblup, 0, np.pi / 2)) ** 2, rtol=1e-12)
    # bias-corrected value: E sin^2(clip(T)) for T ~ N(eblup*, g1), by adaptive quadrature
    g1 = bc.mse_components["g1"].to_numpy()
    for i in (0, int(np.argmin(p))):
        mu, sd = bc.eblup_link.iloc[i], np.sqrt(g1[i])
        inside = integrate.quad(lambda t, mu=mu, sd=sd: np.sin(t) ** 2 * stats.norm.pdf(t, mu, sd), 0, np.pi / 2)[0]
        expected = inside + stats.norm.sf(np.pi / 2, mu, sd)
        assert_allclose(bc.eblup.iloc[i], expected, rtol=0, atol=1e-8)
    # analytic MSE on the rate scale: E[(h(T) - eblup)^2] for T ~ N(eblup*, mse*)
    mu, sd, est = bc.eblup_link.iloc[0], np.sqrt(bc.mse_link.iloc[0]), bc.eblup.iloc[0]
    inside = integrate.quad(lambda t: (np.sin(t) ** 2 - est) ** 2 * stats.norm.pdf(t, mu, sd), 0, np.pi / 2)[0]
    below, above = stats.norm.cdf(0, mu, sd) * est**2, stats.norm.sf(np.pi / 2, mu, sd) * (1 - est) ** 2
    assert_allclose(bc.mse.iloc[0], inside + below + above, rtol=1e-8)
    assert ((bc.eblup >= 0) & (bc.eblup <= 1)).all()
    frame = bc.to_frame()
    assert ((frame.ci_lower >= 0) & (frame.ci_upper <= 1) & (frame.ci_lower <= frame.eblup)).all()


def test_arcsin_accepts_zero_rates_that_untransformed_fh_rejects():
    p, v, n, x = _rates()
    p[0], v[0] = 0.0, 0.0
    with pytest.raises(ValueError, match=r"'variance' must be positive for every sampled area; area 0 has 0.0"):
        fay_herriot(p, v, x[:, None])
    with pytest.raises(ValueError, match=r"pass n_eff"):
        fay_herriot(p, v, x[:, None], transform="arcsin")
    res = fay_herriot(p, v, x[:, None], transform="arcsin", n_eff=n)
    assert res.eblup.iloc[0] > 0 and res.mse.iloc[0] > 0
    v[1] = -0.01
    with pytest.raises(ValueError, match=r"area 1 has direct=.*, variance=-0.01; both must be finite"):
        fay_herriot(p, v, x[:, None], transform="arcsin", n_eff=n)


def test_logit_backtransform_is_the_expectation_of_expit():
    p, v, n, x = _rates()
    p = np.clip(p, 0.05, 0.95)
    v = p * (1 - p) / n
    res = fay_herriot(p, v, x[:, None], transform="logit")
    assert res.sigma2_u > 0.02
    mu, sd = res.eblup_link.iloc[2], np.sqrt(res.mse_components["g1"].iloc[2])
    expected = integrate.quad(lambda t: stats.norm.pdf(t, mu, sd) * special.expit(t), mu - 12 * sd, mu + 12 * sd)[0]
    assert_allclose(res.eblup.iloc[2], expected, rtol=0, atol=1e-10)
    assert_allclose(res.eblup_link, fay_herriot(np.log(p / (1 - p)), v / (p * (1 - p)) ** 2, x[:, None]).eblup)


def test_parametric_bootstrap_mse_is_seeded_and_close_to_analytic(milk, fits):
    y, D, X = milk
    a = fay_herriot(y, D, X, mse="bootstrap", n_boot=200, seed=3)
    b = fay_herriot(y, D, X, mse="bootstrap", n_boot=200, seed=3)
    c = fay_herriot(y, D, X, mse="bootstrap", n_boot=200, seed=4)
    assert_allclose(a.mse, b.mse, rtol=0, atol=0)
    assert not np.allclose(a.mse, c.mse)
    assert a.mse_method == "bootstrap" and a.n_boot == 200 and a.n_boot_failed == 0
    assert_allclose(a.eblup, fits["REML"].eblup, rtol=1e-12)
    ratio = (a.mse / fits["REML"].mse).mean()
    assert 0.85 < ratio < 1.15


def test_bootstrap_mse_on_the_rate_scale_under_arcsin():
    p, v, n, x = _rates()
    analytic = fay_herriot(p, v, x[:, None], transform="arcsin", n_eff=n)
    boot = fay_herriot(p, v, x[:, None], transform="arcsin", n_eff=n, mse="bootstrap", n_boot=100, seed=1)
    assert_allclose(boot.eblup, analytic.eblup, rtol=1e-12)
    assert 0.6 < (boot.mse / analytic.mse).median() < 1.5
    assert (boot.mse > 0).all() and boot.mse_method == "bootstrap"


def test_benchmark_reproduces_the_province_mean():
    est = pd.Series([0.1, 0.2, 0.05], index=["a", "b", "c"])
    w = [100, 300, 600]
    out = benchmark(est, w, 0.12)
    assert list(out.index) == ["a", "b", "c"]
    assert_allclose(np.dot(np.array(w) / 1000, out), 0.12, rtol=1e-12)
    assert_allclose(out / est, 0.12 / 0.1, rtol=1e-12)
    with pytest.raises(ValueError, match=r"'weights' has 2 values but 'estimates' has 3"):
        benchmark(est, [1, 2], 0.1)
    with pytest.raises(ValueError, match=r"'weights' must be non-negative"):
        benchmark(est, [1, -2, 1], 0.1)


# --------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"variance": [0.1, 0.0, 0.1, 0.3, 0.1, 0.2]},
            ValueError,
            r"must be positive for every sampled area; area 1 has 0.0",
        ),
        ({"variance": [0.1, -0.2, 0.1, 0.3, 0.1, 0.2]}, ValueError, r"area 1 has .*variance=-0.2; .*non-negative"),
        ({"direct": [1.0, np.inf, 1.5, 3.0, 2.5, 4.0]}, ValueError, r"area 1 has direct=inf"),
        ({"variance": [0.1, 0.2, 0.1]}, ValueError, r"'variance' has 3 values but 'direct' has 6"),
        ({"covariates": [[1.0], [2.0]]}, ValueError, r"'covariates' has 2 rows but 'direct' has 6"),
        ({"covariates": np.ones((6, 1))}, ValueError, r"'x1' is constant or a linear combination of \['intercept'\]"),
        ({"covariates": np.column_stack([np.arange(6.0), 2 * np.arange(6.0)])}, ValueError, r"column 'x2'"),
        ({"method": "reml"}, ValueError, r"method must be one of \('REML', 'ML', 'FH'\), got 'reml'"),
        ({"transform": "log"}, ValueError, r"transform must be one of"),
        ({"direct": [[1.0, 2.0]] * 6}, ValueError, r"'direct' must be 1-D, got shape \(6, 2\)"),
        ({"covariates": pd.DataFrame({"k": list("abcabc")})}, TypeError, r"covariate 'k' is not numeric"),
        ({"max_iter": 0}, ValueError, r"max_iter must be an integer >= 1, got 0"),
    ],
)
def test_bad_inputs_give_clear_errors(kwargs, error, match):
    args = {
        "direct": [1.0, 2.0, 1.5, 3.0, 2.5, 4.0],
        "variance": [0.1, 0.2, 0.1, 0.3, 0.1, 0.2],
        "covariates": np.arange(6.0)[:, None],
    }
    args.update(kwargs)
    with pytest.raises(error, match=match):
        fay_herriot(args.pop("direct"), args.pop("variance"), args.pop("covariates"), **args)


def test_all_nan_area_and_partial_nan_are_errors():
    y = pd.Series([1.0, 2.0, np.nan, 3.0, 2.5], index=list("abcde"))
    D = pd.Series([0.1, 0.2, np.nan, 0.3, 0.1], index=list("abcde"))
    X = pd.DataFrame({"x": [1.0, 2.0, np.nan, 4.0, 5.0]}, index=list("abcde"))
    with pytest.raises(ValueError, match=r"area 'c' has all-NaN data \(direct, variance and covariates\)"):
        fay_herriot(y, D, X)
    with pytest.raises(ValueError, match=r"area 'c' has direct=nan but variance=0.5"):
        fay_herriot(y, D.fillna(0.5), X.fillna(3.0))
    with pytest.raises(ValueError, match=r"the index of 'covariates' does not match"):
        fay_herriot(y, D, X.fillna(3.0).set_axis(list("vwxyz")))


# --------------------------------------------------------------------------- results object


def test_results_table_summary_and_diagnostics(fits):
    res = fits["REML"]
    frame = res.to_frame()
    assert list(frame.columns) == [
        "sampled",
        "direct",
        "direct_se",
        "direct_cv",
        "eblup",
        "se",
        "mse",
        "cv",
        "ci_lower",
        "ci_upper",
        "gamma",
        "synthetic",
    ]
    assert_allclose(frame.cv, np.sqrt(res.mse) / res.eblup, rtol=1e-12)
    assert_allclose(frame.ci_upper - frame.ci_lower, 2 * 1.959963984540054 * frame.se, rtol=1e-12)
    assert (frame.cv < frame.direct_cv).mean() > 0.9
    text = res.summary()
    assert isinstance(text, str) and "method=REML" in text and "0.01855" in text and "major_4" in text
    diag = res.diagnostics()
    w, p = stats.shapiro(res.residuals.to_numpy())
    assert_allclose(diag.loc["residuals", ["shapiro_w", "shapiro_p"]].to_numpy(dtype=float), [w, p])
    assert_allclose(res.residuals.std(ddof=1), diag.loc["residuals", "sd"])


@pytest.mark.parametrize(
    "name, home",
    [
        ("plot_estimates", "povanalysis.figures.measure"),
        ("plot_cv", "povanalysis.figures.measure"),
        ("plot_direct_vs_eblup", "povanalysis.figures.measure"),
        ("plot_residuals", "povanalysis.figures.measure"),
        ("demonstrate", "povanalysis.measure.sae_simulation"),
        ("Demonstration", "povanalysis.measure.sae_simulation"),
    ],
)
def test_moved_names_still_import_with_a_warning(name, home):
    import importlib

    with pytest.warns(DeprecationWarning, match=rf"sae\.{name} moved to {home}\.{name}"):
        old = getattr(sae, name)
    assert old is getattr(importlib.import_module(home), name)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        sae.nothing  # noqa: B018
