import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from povanalysis import config
from povanalysis.data import synth
from povanalysis.data.pipeline import classify_panel
from povanalysis.figures import impact as figures
from povanalysis.impact import credit
from povanalysis.impact.did import StaggeredDiD, clustered_vcov
from povanalysis.reports.prose import impact as prose

# --------------------------------------------------------------------------- a panel small enough to compute by hand
#
# Reviews 2021-2023, every household poor in 2021.  T1-T4 borrow in March 2022 (first review
# after the loan: 2022), N1-N4 in May 2023 (2023), V1-V4 never.  P = poor, . = not poor.
STATUS = {
    "T1": "P..",
    "T2": "P..",
    "T3": "PPP",
    "T4": "PP.",
    "N1": "P..",
    "N2": "PP.",
    "N3": "PPP",
    "N4": "PPP",
    "V1": "PP.",
    "V2": "PPP",
    "V3": "PPP",
    "V4": "PPP",
}
COMMUNE = {"1": "01", "2": "02", "3": "03", "4": "01"}  # by the household's digit


def hand_households(status=STATUS):
    rows = []
    for hid, path in status.items():
        for year, s in zip((2021, 2022, 2023), path):
            if s == " ":
                continue
            poor = s == "P"
            rows.append(
                {
                    "household_id": hid,
                    "review_year": year,
                    "commune_code": COMMUNE[hid[1]],
                    "area": "rural",
                    "size": 4,
                    "income_pc": 1_200_000.0 if poor else 2_500_000.0,
                    "ethnicity": "Tày",
                    "poverty_class": "poor" if poor else "not_poor",
                    "deprivations": 4 if poor else 1,
                    "minority": True,
                    "old_area": "thai_nguyen",
                }
            )
    return pd.DataFrame(rows)


def hand_loans(extra=()):
    rows = [(f"T{i}", "2022-03-01", 30e6 + 10e6 * i) for i in range(1, 5)]
    rows += [(f"N{i}", "2023-05-01", 50e6) for i in range(1, 5)]
    rows += list(extra)
    return pd.DataFrame(
        {
            "household_id": [r[0] for r in rows],
            "programme": "poor",
            "disbursed": pd.to_datetime([r[1] for r in rows]),
            "amount": [r[2] for r in rows],
            "rate": 0.066,
            "term_months": 60,
        }
    )


@pytest.fixture(scope="module")
def hand():
    return hand_households(), hand_loans()


def test_naive_by_hand(hand):
    # Borrowers: T1-T4 over 2021->22 (exits 1,1,0,0) and N2-N4 over 2022->23 (1,0,0): 3/7.
    # Never-borrowers: V1-V4 twice (one exit, V1 in 2023): 1/8.
    r = credit.estimate_effect(*hand, method="naive")
    assert r.effect == pytest.approx(3 / 7 - 1 / 8)
    assert (r.n_treated, r.n_control, r.n) == (7, 8, 15)
    assert r.biased and "BIASED" in r.summary()
    frame = credit.build_outcomes(*hand)
    frame = frame[frame["status"].isin(["treated", "never"]) & (frame["poverty_class"] == "poor")]
    ols = sm.OLS(
        frame["exit"].astype(float).to_numpy(), sm.add_constant((frame["status"] == "treated").to_numpy(float))
    ).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(frame["commune_code"])[0]})
    assert r.se == pytest.approx(ols.bse[1])


def test_did_and_fe_by_hand(hand):
    # Cohort 2022 against the later borrowers N1-N4: exits 1/2 against 1/4.  Cohort 2023 has no
    # later borrower to compare with and is left out.
    did = credit.estimate_effect(*hand, method="did")
    assert did.effect == pytest.approx(0.25)
    assert (did.n_treated, did.n_control, did.n_clusters) == (4, 4, 3)
    # Influence values by commune: 01 (T1, T4, N1, N4) -1/8, 02 (T2, N2) 3/16, 03 (T3, N3) -1/16;
    # variance 3/2 * (1/64 + 9/256 + 1/256).
    assert did.se == pytest.approx(np.sqrt(1.5 * (1 / 64 + 9 / 256 + 1 / 256)))
    assert any("cohort 2023" in n and "no not-yet-treated" in n for n in did.notes)
    fe = credit.estimate_effect(*hand, method="fe")
    assert fe.effect == pytest.approx(0.25)
    # Same regression, with the OLS small-sample factor (n - 1) / (n - k) = 7 / 6.
    assert fe.se == pytest.approx(did.se * np.sqrt(7 / 6))
    lo, hi = did.conf_int(alpha=0.10)
    assert (lo + hi) / 2 == pytest.approx(0.25)
    assert hi - lo < did.conf_int()[1] - did.conf_int()[0]


def test_fe_equals_dummy_variable_regression(hand):
    # Household fixed effects and year effects on the two-review stacked panel, as explicit dummies.
    hh, loans = hand
    long = hh[hh["household_id"].str[0].isin(["T", "N"]) & hh["review_year"].isin([2021, 2022])]
    y = (long["poverty_class"] != "poor").to_numpy(float)
    d = ((long["household_id"].str[0] == "T") & (long["review_year"] == 2022)).to_numpy(float)
    X = pd.get_dummies(long["household_id"], dtype=float)
    X["y2022"] = (long["review_year"] == 2022).to_numpy(float)
    X["treated"] = d
    lsdv = sm.OLS(y, X.to_numpy()).fit()
    assert credit.estimate_effect(hand[0], hand[1], method="fe").effect == pytest.approx(lsdv.params[-1])


def test_build_outcomes_statuses(hand):
    frame = credit.build_outcomes(*hand)
    assert len(frame) == 24
    assert frame["status"].value_counts().to_dict() == {"treated": 8, "never": 8, "not_yet": 4, "already": 4}
    assert int(frame["exit"].isna().sum()) == 3  # T1, T2, N1 are not poor in 2022
    t1 = frame[(frame["household_id"] == "T1") & (frame["review_year"] == 2021)].iloc[0]
    assert (t1["cohort"], t1["event_time"], t1["amount"], bool(t1["exit"])) == (2022, 0, 40e6, True)
    assert frame.loc[frame["status"] == "never", "cohort"].isna().all()


def test_review_cutoff_places_a_loan_before_or_after_the_review(hand):
    hh, loans = hand
    late = loans.copy()
    late.loc[late["household_id"] == "T1", "disbursed"] = pd.Timestamp("2022-09-15")
    frame = credit.build_outcomes(hh, late)
    t1 = frame[(frame["household_id"] == "T1")].set_index("review_year")["status"]
    assert t1.to_dict() == {2021: "not_yet", 2022: "treated"}  # during the 2022 review: counts after it
    frame = credit.build_outcomes(hh, late, review_cutoff="12-31")
    assert frame.loc[(frame["household_id"] == "T1") & (frame["review_year"] == 2021), "status"].item() == "treated"
    with pytest.raises(ValueError, match="review_cutoff must be a day of the year as 'MM-DD', got '13-40'"):
        credit.build_outcomes(hh, loans, review_cutoff="13-40")


def test_dose_and_cost_per_exit_by_hand(hand):
    # Borrowers T1-T4 took 40, 50, 60, 70 million: 55 million per poor borrower; 0.25 exits each.
    cost = credit.cost_per_exit(*hand)
    assert cost.vnd_per_exit == pytest.approx(55e6 / 0.25)
    assert cost.exits == pytest.approx(1.0)
    assert cost.n_borrowers == 4
    lo, hi = cost.conf_int()
    assert lo < cost.vnd_per_exit and hi == np.inf  # the effect's interval reaches zero: no upper limit
    everything = credit.cost_per_exit(*hand, spending="all")  # N1-N4's 2023 loans are outside the cohort
    assert everything.vnd_per_exit == pytest.approx(cost.vnd_per_exit)
    row = cost.to_frame().iloc[0]
    assert (row["method"], row["interval"], row["ci_upper"]) == ("did", "fieller", np.inf)  # Fieller by default
    dose = credit.estimate_effect(*hand, method="dose")
    # Exits 1, 1, 0, 0 at 40, 50, 60, 70 million: slope -0.04 per million against the comparisons.
    assert dose.effect == pytest.approx(-0.4)
    equal = hand[1].assign(amount=50e6)
    with pytest.raises(ValueError, match="no variation in loan amount among the borrowers"):
        credit.estimate_effect(hand[0], equal, method="dose")


def test_alpha_sets_the_level_of_event_study_and_subgroup_intervals(hand, monkeypatch):
    monkeypatch.setattr(config, "MIN_CELL", 1)  # four borrowers: shown, not suppressed
    hh, loans = hand
    wide, narrow = (credit.event_study(hh, loans, alpha=a).table.set_index("event_time").loc[0] for a in (0.05, 0.5))
    assert narrow["effect"] == wide["effect"] == pytest.approx(0.25)
    # Three clusters: t quantiles on 2 degrees of freedom.
    assert wide["ci_upper"] - wide["effect"] == pytest.approx(4.302653 * wide["se"], rel=1e-6)
    assert narrow["ci_upper"] - narrow["effect"] == pytest.approx(0.816497 * narrow["se"], rel=1e-6)
    het = credit.heterogeneity(hh, loans, by="old_area", alpha=0.5).table.iloc[0]
    assert het["ci_upper"] - het["effect"] == pytest.approx(0.816497 * het["se"], rel=1e-6)
    with pytest.raises(ValueError, match="'alpha' must be in \\(0, 1\\), got 1.5"):
        credit.event_study(hh, loans, alpha=1.5)
    with pytest.raises(ValueError, match="'alpha' must be in \\(0, 1\\), got 0"):
        credit.heterogeneity(hh, loans, alpha=0)


def test_small_groups_are_suppressed(hand):
    het = credit.heterogeneity(*hand, by=["minority", "old_area"])
    t = het.table.set_index(["by", "group"])
    assert bool(t.loc[("minority", "minority"), "suppressed"])  # 4 borrowers < 10
    assert np.isnan(t.loc[("minority", "minority"), "effect"])
    assert "publication threshold" in t.loc[("minority", "minority"), "note"]
    assert "no household of the analysis population ever received a loan" in t.loc[("minority", "majority"), "note"]
    assert (het.tests["df"] == 0).all()
    # A covariate constant within a group suppresses that group instead of stopping the table.
    ipw = credit.heterogeneity(*hand, by="minority", method="ipw", covariates=["size"])
    note = ipw.table.set_index("group").loc["minority", "note"]
    assert note.startswith("covariate 'size' is constant (4.0) in the analysis sample")
    with pytest.raises(ValueError, match=r"unknown covariates \['drive'\]"):
        credit.heterogeneity(*hand, method="ipw", covariates=["drive"])


# --------------------------------------------------------------------------- bad input


def test_single_review_year_is_an_error(hand):
    hh, loans = hand
    with pytest.raises(ValueError, match=r"at least two review years, got a single review year \[2021\]"):
        credit.estimate_effect(hh[hh["review_year"] == 2021], loans)
    with pytest.raises(ValueError, match=r"at least two review years, got a single review year \[2022\]"):
        credit.estimate_effect(hh, loans, years=[2022])
    with pytest.raises(ValueError, match=r"the review years \[2021, 2023\] contain no two consecutive reviews"):
        credit.estimate_effect(hh, loans, years=[2021, 2023])
    with pytest.raises(ValueError, match=r"years \[2024\] are not review years of 'households'"):
        credit.estimate_effect(hh, loans, years=[2023, 2024])
    with pytest.raises(TypeError, match="'years' should be a sequence of review years, got the single year 2022"):
        credit.estimate_effect(hh, loans, years=2022)


def test_no_variation_in_treatment_is_an_error(hand):
    hh, loans = hand
    none = loans.iloc[:0]
    for method in ("did", "naive"):
        with pytest.raises(ValueError, match="no variation in treatment"):
            credit.estimate_effect(hh, none, method=method)
    only_first = loans[loans["household_id"].str[0] == "T"]
    with pytest.raises(
        ValueError,
        match="no borrower can be compared with households that borrow later at the first "
        r"review after the loan \(no variation in treatment timing\): cohort 2022: "
        "no not-yet-treated comparison unit",
    ):
        credit.estimate_effect(hh, only_first, method="fe")
    everyone = hand_loans([(f"V{i}", "2023-06-01", 50e6) for i in range(1, 5)])
    with pytest.raises(ValueError, match="every household of the analysis population borrowed"):
        credit.estimate_effect(hh, everyone, method="naive")


def test_missing_pre_period_is_an_error(hand):
    hh, loans = hand
    early = loans.assign(disbursed=pd.Timestamp("2020-05-01"))
    with pytest.raises(ValueError, match=r"every loan precedes the first review used \(2021\).*missing pre-period"):
        credit.estimate_effect(hh, early)
    # A household that appears in 2022 with a loan, never seen at the 2021 review.
    newcomer = pd.concat([hh, hand_households({"M1": " P."})], ignore_index=True)
    loans_m = hand_loans([("M1", "2022-02-01", 45e6)])
    with pytest.raises(
        ValueError,
        match=r"1 borrowing household\(s\) have no record at the review before their "
        r"first loan \(missing pre-period\), e.g. household 'M1'",
    ):
        credit.estimate_effect(newcomer, loans_m)
    dropped = credit.estimate_effect(newcomer, loans_m, missing_pre="drop")
    assert dropped.effect == pytest.approx(0.25)
    assert any("left out (missing_pre='drop')" in n for n in dropped.notes)
    with pytest.raises(ValueError, match="missing_pre must be 'raise' or 'drop', got 'skip'"):
        credit.estimate_effect(hh, loans, missing_pre="skip")


def test_bad_loans_are_errors(hand):
    hh, loans = hand
    with pytest.raises(ValueError, match=r"1 loan\(s\) name a household_id absent from 'households', e.g. 'X9'"):
        credit.estimate_effect(hh, hand_loans([("X9", "2022-01-05", 1e7)]))
    with pytest.raises(TypeError, match="loans column 'disbursed' must hold dates"):
        credit.estimate_effect(hh, loans.assign(disbursed=loans["disbursed"].dt.strftime("%Y-%m-%d")))
    with pytest.raises(ValueError, match="loans column 'amount' must be a positive amount in VND, got -5.0 at row 2"):
        credit.estimate_effect(hh, loans.assign(amount=[1e7, 1e7, -5.0] + [1e7] * 5))
    with pytest.raises(ValueError, match="loans column 'programme' must be one of .* got 'other' at row 0"):
        credit.estimate_effect(hh, loans.assign(programme=["other"] + ["poor"] * 7))
    with pytest.raises(ValueError, match=r"'loans' lacks the columns \['amount'\]"):
        credit.estimate_effect(hh, loans.drop(columns="amount"))


def test_bad_households_and_options_are_errors(hand):
    hh, loans = hand
    with pytest.raises(ValueError, match="more than one row for household 'T1' in review year 2021"):
        credit.estimate_effect(pd.concat([hh, hh.iloc[[0]]], ignore_index=True), loans)
    with pytest.raises(ValueError, match="cluster column 'district' is not a column of 'households'"):
        credit.estimate_effect(hh, loans, cluster="district")
    with pytest.raises(ValueError, match="column 'poverty_class' must be one of .* got 'rich' at row 0"):
        credit.estimate_effect(hh.assign(poverty_class=["rich"] + ["poor"] * (len(hh) - 1)), loans)
    with pytest.raises(
        ValueError, match="outcome 'log_income' needs positive incomes: column 'income_pc' is 0.0 at row 0"
    ):
        credit.estimate_effect(hh.assign(income_pc=[0.0] + [1e6] * (len(hh) - 1)), loans, outcome="log_income")
    with pytest.raises(ValueError, match="outcome must be one of .* got 'wealth'"):
        credit.estimate_effect(hh, loans, outcome="wealth")
    with pytest.raises(ValueError, match="method must be one of .* got 'ols'"):
        credit.estimate_effect(hh, loans, method="ols")
    with pytest.raises(ValueError, match="comparison must be one of .* got 'all'"):
        credit.estimate_effect(hh, loans, comparison="all")
    with pytest.raises(
        ValueError,
        match="outcome 'exit' .* is defined only for households poor at the review before "
        "the loan: use population='poor', got 'eligible'",
    ):
        credit.estimate_effect(hh, loans, population="eligible")
    with pytest.raises(ValueError, match="covariates are used by methods 'fe' and 'ipw', not 'did'"):
        credit.estimate_effect(hh, loans, covariates=["size"])
    with pytest.raises(TypeError, match="'households' should be a DataFrame, got list"):
        credit.estimate_effect([], loans)


def test_heterogeneity_errors(hand):
    hh, loans = hand
    with pytest.raises(ValueError, match="by must be among .* got 'district'"):
        credit.heterogeneity(hh, loans, by="district")
    with pytest.raises(ValueError, match="by='disadvantaged' needs the codes of the disadvantaged communes"):
        credit.heterogeneity(hh, loans, by="disadvantaged")
    with pytest.raises(ValueError, match="no household of the panel lives in one of the given disadvantaged communes"):
        credit.heterogeneity(hh, loans, by="disadvantaged", disadvantaged={"99999"})
    with pytest.raises(ValueError, match="heterogeneity by programme needs population='eligible'"):
        credit.heterogeneity(hh, loans, by="programme")
    with pytest.raises(ValueError, match="heterogeneity needs method 'naive', 'fe', 'did' or 'ipw', got 'dose'"):
        credit.heterogeneity(hh, loans, method="dose")


# --------------------------------------------------------------------------- the estimator as a property


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([2.0, 3.0, np.inf]),
            st.floats(-5, 5),
            st.floats(-5, 5),
            st.floats(-5, 5),
            st.sampled_from("abc"),
        ),
        min_size=4,
        max_size=25,
    ),
    st.floats(-50, 50),
)
def test_did_is_a_difference_in_mean_changes_and_ignores_unit_levels(units, shift):
    cohort = np.array([u[0] for u in units])
    assume((cohort == 2).any() and (cohort == 3).any())
    rows = [
        {"unit": i, "time": t, "cohort": u[0], "y": u[t], "cluster": u[4]}
        for i, u in enumerate(units)
        for t in (1, 2, 3)
    ]
    panel = pd.DataFrame(rows)
    d = StaggeredDiD(panel, unit="unit", time="time", cohort="cohort", outcome="y", cluster="cluster", min_cell=1)
    change = np.array([u[2] - u[1] for u in units])
    expected = change[cohort == 2].mean() - change[cohort == 3].mean()
    assert d.aggregate(0).effect == pytest.approx(expected, abs=1e-9)
    # A unit-specific level (the household fixed effect) changes nothing.
    level = panel["unit"].map({i: shift * (i % 3) for i in range(len(units))})
    moved = StaggeredDiD(
        panel.assign(y=panel["y"] + level),
        unit="unit",
        time="time",
        cohort="cohort",
        outcome="y",
        cluster="cluster",
        min_cell=1,
    )
    assert moved.aggregate(0).effect == pytest.approx(expected, abs=1e-7)
    never = StaggeredDiD(
        panel, unit="unit", time="time", cohort="cohort", outcome="y", cluster="cluster", comparison="never", min_cell=1
    )
    if (cohort == np.inf).any():
        # Against never-treated units cohort 3 has an effect too (base 2, review 3); cohort sizes weight them.
        later = np.array([u[3] - u[2] for u in units])
        att2 = change[cohort == 2].mean() - change[cohort == np.inf].mean()
        att3 = later[cohort == 3].mean() - later[cohort == np.inf].mean()
        n2, n3 = (cohort == 2).sum(), (cohort == 3).sum()
        assert never.aggregate(0).effect == pytest.approx((n2 * att2 + n3 * att3) / (n2 + n3), abs=1e-9)


def test_staggered_did_errors():
    panel = pd.DataFrame({"unit": [1, 1], "time": [1, 2], "cohort": [2, 3], "y": [0.0, 1.0], "cluster": ["a", "a"]})
    with pytest.raises(ValueError, match="column 'cohort' must be constant within a unit; it varies for unit 1"):
        StaggeredDiD(panel, unit="unit", time="time", cohort="cohort", outcome="y", cluster="cluster")
    with pytest.raises(ValueError, match=r"'panel' lacks the columns \['z'\]"):
        StaggeredDiD(panel, unit="unit", time="time", cohort="cohort", outcome="z", cluster="cluster")
    with pytest.raises(ValueError, match="column 'cohort' is missing at row 1: use inf for never-treated units"):
        StaggeredDiD(
            panel.assign(cohort=[2, None]), unit="unit", time="time", cohort="cohort", outcome="y", cluster="cluster"
        )
    with pytest.raises(ValueError, match="clustered standard errors need at least 2 clusters, got 1"):
        clustered_vcov(np.array([0.5]))


# --------------------------------------------------------------------------- synthetic panels with a planted effect

SEEDS = (3, 4)
EFFECTS = (0.10, 0.0)
SCALE = 0.05


@pytest.fixture(scope="module")
def panels():
    """Two seeds x two planted effects, each classified once, with every estimate computed once."""
    out = {}
    for seed in SEEDS:
        for effect in EFFECTS:
            p = synth.generate(seed=seed, scale=SCALE, credit_effect=effect)
            hh = classify_panel(p.households)
            fits = {m: credit.estimate_effect(hh, p.loans, method=m) for m in ("naive", "fe", "did", "ipw")}
            out[seed, effect] = {"panel": p, "households": hh, "fits": fits, "study": credit.event_study(hh, p.loans)}
    return out


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("effect", EFFECTS)
@pytest.mark.parametrize("method", ["fe", "did", "ipw"])
def test_credible_intervals_cover_the_planted_effect(panels, seed, effect, method):
    case = panels[seed, effect]
    truth = case["panel"].truth
    assert truth["credit_effect"] == effect
    fit = case["fits"][method]
    lo, hi = fit.conf_int()
    assert lo <= effect <= hi, fit.summary()
    assert not fit.biased
    assert fit.n_treated > 200 and fit.n_clusters > 70


def test_naive_difference_is_biased_upward(panels):
    gaps, ses = [], []
    for (_, effect), case in panels.items():
        naive, did = case["fits"]["naive"], case["fits"]["did"]
        assert naive.effect > effect  # every panel
        assert naive.effect > did.effect
        gaps.append(naive.effect - effect)
        ses.append(naive.se)
    # Pooled over the four panels the upward bias is far outside sampling error.
    assert np.mean(gaps) > 3 * np.sqrt(np.sum(np.square(ses))) / len(ses)


def test_event_study_leads_are_near_zero(panels):
    for case in panels.values():
        study = case["study"]
        leads = study.table[study.table["event_time"] <= -2]
        assert len(leads) == 2 and not leads["suppressed"].any()
        assert (leads["effect"].abs() < 3 * leads["se"]).all()
        assert study.pretrend["df"] == 2 and study.pretrend["pvalue"] > 0.01
        at0 = study.table.set_index("event_time").loc[0, "effect"]
        assert at0 == pytest.approx(case["fits"]["did"].effect)


@pytest.mark.parametrize("effect", EFFECTS)
def test_estimates_are_stable_across_seeds(panels, effect):
    for method in ("fe", "did", "ipw"):
        a, b = (panels[s, effect]["fits"][method] for s in SEEDS)
        assert abs(a.effect - b.effect) < 1.96 * np.hypot(a.se, b.se)


def test_ipw_without_covariates_is_the_did_estimate(panels):
    case = panels[SEEDS[0], EFFECTS[0]]
    plain = credit.estimate_effect(case["households"], case["panel"].loans, method="ipw", covariates=[])
    did = case["fits"]["did"]
    assert plain.effect == pytest.approx(did.effect, abs=1e-10)
    assert plain.se == pytest.approx(did.se, rel=1e-8)


def test_ipw_balance_and_never_borrower_contrast(panels):
    case = panels[SEEDS[0], EFFECTS[0]]
    bal = case["fits"]["ipw"].balance
    assert list(bal["covariate"]) == list(credit.DEFAULT_COVARIATES)
    assert (bal["smd_weighted"].abs() < 0.05).all()
    never = credit.estimate_effect(case["households"], case["panel"].loans, method="ipw", comparison="never")
    assert never.biased and "vs never-borrowers" in never.label
    # Against never-borrowers the observed covariates are unbalanced before weighting and balanced
    # after, yet the estimate stays above the planted effect: selection is on the unobserved drive.
    assert never.balance["smd_unweighted"].abs().max() > 0.2
    assert (never.balance["smd_weighted"].abs() < 0.05).all()
    assert never.effect > EFFECTS[0]


def test_collinear_or_constant_covariates_are_errors(panels):
    case = panels[SEEDS[0], EFFECTS[0]]
    hh = case["households"].assign(size_twice=lambda f: 2 * f["size"], one=1)
    loans = case["panel"].loans
    with pytest.raises(
        ValueError,
        match="covariates are collinear in the analysis sample: 'size_twice' is a linear "
        "combination of the intercept and the cohort effects, 'size'",
    ):
        credit.estimate_effect(hh, loans, method="ipw", covariates=["size", "size_twice"])
    with pytest.raises(ValueError, match=r"covariate 'one' is constant \(1.0\) in the analysis sample"):
        credit.estimate_effect(hh, loans, method="fe", covariates=["one"])
    with pytest.raises(ValueError, match=r"unknown covariates \['drive'\]"):
        credit.estimate_effect(hh, loans, method="ipw", covariates=["drive"])
    fit = credit.estimate_effect(hh, loans, method="fe", covariates=["d_water"])
    assert fit.covariates == ("d_water",)


def test_other_outcomes_against_the_generator(panels):
    case = panels[SEEDS[0], EFFECTS[0]]
    hh, loans, truth = case["households"], case["panel"].loans, case["panel"].truth
    income = credit.estimate_effect(hh, loans, outcome="log_income", method="did")
    lo, hi = income.conf_int()
    assert lo <= truth["mean_log_income_gain_exit_events"] <= hi
    dep = credit.estimate_effect(hh, loans, outcome="deprivations", method="did")
    lo, hi = dep.conf_int()
    assert lo <= truth["deprivation_effect"] == 0.0 <= hi


def test_heterogeneity_groups_match_separate_estimates(panels):
    case = panels[SEEDS[0], EFFECTS[0]]
    hh, loans = case["households"], case["panel"].loans
    codes = set(case["panel"].communes.loc[case["panel"].communes["disadvantaged"], "commune_code"])
    het = credit.heterogeneity(hh, loans, by=["old_area", "disadvantaged"], disadvantaged=codes)
    assert het.table["group"].tolist() == ["thai_nguyen", "bac_kan", "other_communes", "disadvantaged"]
    alone = credit.estimate_effect(
        hh[hh["old_area"] == "bac_kan"],
        loans[loans["household_id"].isin(hh.loc[hh["old_area"] == "bac_kan", "household_id"])],
    )
    row = het.table.set_index(["by", "group"]).loc[("old_area", "bac_kan")]
    assert row["effect"] == pytest.approx(alone.effect)
    assert row["se"] == pytest.approx(alone.se)
    assert (het.tests["df"] == 1).all() and het.tests["pvalue"].between(0, 1).all()
    assert "By pre-2025 province" in prose.heterogeneity_text(het, "en")
    assert "Theo địa bàn trước sáp nhập" in prose.heterogeneity_text(het, "vi")
    prog = credit.heterogeneity(hh, loans, by="programme", outcome="log_income", population="eligible")
    assert prog.table["group"].tolist() == ["poor", "near_poor", "newly_escaped"]
    # With IPW the grouping variable leaves the propensity model inside its own groups.
    ipw = credit.heterogeneity(hh, loans, by="minority", method="ipw")
    assert not ipw.table["suppressed"].any()


def test_cost_per_exit_on_the_synthetic_panel(panels):
    case = panels[SEEDS[0], EFFECTS[0]]
    hh, loans = case["households"], case["panel"].loans
    did = case["fits"]["did"]
    cost = credit.cost_per_exit(hh, loans, interval="delta")
    frame = credit.build_outcomes(hh, loans)
    borrowers = frame[
        (frame["status"] == "treated")
        & (frame["poverty_class"] == "poor")
        & frame["cohort"].isin(did.details["cohort"])
    ]
    assert cost.n_borrowers == len(borrowers) == did.n_treated
    assert cost.vnd_per_exit == pytest.approx(borrowers["amount"].mean() / did.effect)
    lo, hi = cost.conf_int()
    assert lo < cost.vnd_per_exit < hi < np.inf
    fieller = credit.cost_per_exit(hh, loans, interval="fieller")
    f_lo, f_hi = fieller.conf_int()
    assert f_lo < cost.vnd_per_exit < f_hi and f_hi > hi  # the ratio's interval is skewed upward
    assert credit.cost_per_exit(hh, loans, spending="all").vnd_per_exit > cost.vnd_per_exit
    assert "delta method" in cost.summary() and "triệu đồng" in prose.cost_text(cost, "vi")
    with pytest.raises(ValueError, match="cost per exit needs an effect on exit from method .* got 'dose'"):
        credit.cost_per_exit(hh, loans, method="dose")


# --------------------------------------------------------------------------- tables, text and figures


def test_compare_table_and_headline(panels):
    case = panels[SEEDS[0], EFFECTS[0]]
    fits = [case["fits"][m] for m in ("naive", "fe", "did", "ipw")]
    truth = case["panel"].truth
    table = prose.compare_table(fits, truth=truth, lang="en")
    assert table.iloc[-1, 0] == "Synthetic generator's planted value"
    assert table.iloc[-1, 1] == 10.0
    assert table.iloc[2, 1] == round(100 * fits[2].effect, 2)
    vi = prose.compare_table(fits, truth=truth, lang="vi")
    assert vi.columns[0] == "Phương pháp" and vi.iloc[-1, 0] == "Giá trị cài đặt của bộ sinh dữ liệu mô phỏng"
    text = prose.headline_text(fits, truth=truth, lang="en")
    assert text.startswith("Comparing borrowers with households that never borrowed gives")
    assert "Synthetic generator's planted value: 10.0 percentage points (realised in the sample:" in text
    assert "điểm phần trăm" in prose.headline_text(fits, truth=truth, lang="vi")
    with pytest.raises(ValueError, match="'results' mix outcomes"):
        prose.compare_table(
            [fits[0], credit.estimate_effect(case["households"], case["panel"].loans, outcome="deprivations")]
        )


def test_event_study_figure(panels):
    study = panels[SEEDS[0], EFFECTS[0]]["study"]
    fig = figures.plot_event_study(study, truth=0.10, lang="en")
    shown = study.table[~study.table["reference"]]
    assert list(fig.data[0].x) == shown["event_time"].tolist()
    assert list(fig.data[0].y) == pytest.approx((100 * shown["effect"]).tolist())
    assert list(fig.data[1].x) == [-1] and list(fig.data[2].y) == [10.0]
    assert "Pre-trend test: p =" in fig.layout.title.text
    vi = figures.plot_event_study(study, lang="vi")
    assert vi.layout.xaxis.title.text.startswith("Số kỳ rà soát tính từ khoản vay")
    assert "Kiểm định xu hướng trước khi vay" in vi.layout.title.text
    assert "Tác động (điểm phần trăm)" == vi.layout.yaxis.title.text
    with pytest.raises(ValueError, match="lang must be one of"):
        figures.plot_event_study(study, lang="fr")


def test_forest_figure(panels):
    case = panels[SEEDS[0], EFFECTS[0]]
    fits = [case["fits"][m] for m in ("naive", "fe", "did", "ipw")]
    fig = figures.plot_forest(fits, truth=case["panel"].truth, lang="en")
    names = [y for trace in fig.data for y in trace.y]
    assert "Naive: borrowers vs never-borrowers (biased)" in names and len(names) == 4
    biased = [t for t in fig.data if t.name == "Biased"][0]
    assert list(biased.x) == pytest.approx([100 * fits[0].effect])
    assert [s.x0 for s in fig.layout.shapes][0] == pytest.approx(10.0)
    het = credit.heterogeneity(case["households"], case["panel"].loans, by="minority")
    vi = figures.plot_forest(het, lang="vi")
    assert "Theo dân tộc: Hộ dân tộc thiểu số" in list(vi.data[0].y)
    with pytest.raises(TypeError, match="'estimates' should be CreditEffect results"):
        figures.plot_forest([1, 2])


def test_balance_figure(panels):
    ipw = panels[SEEDS[0], EFFECTS[0]]["fits"]["ipw"]
    fig = figures.plot_balance(ipw, lang="vi")
    assert list(fig.data[0].y)[:2] == ["Hộ dân tộc thiểu số", "Khu vực thành thị"]
    assert list(fig.data[1].x) == pytest.approx(ipw.balance["smd_weighted"].tolist())
    assert fig.layout.xaxis.title.text == "Chênh lệch trung bình chuẩn hóa"
    with pytest.raises(ValueError, match="the 'did' result has no balance table: use method='ipw'"):
        figures.plot_balance(panels[SEEDS[0], EFFECTS[0]]["fits"]["did"])
