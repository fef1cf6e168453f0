"""Time povanalysis.measure.indicators against a plain numpy version and mpitb, side by side.

Run: ``.venv/bin/python bench/bench_indicators.py [--quick]``. Prints a markdown table and
writes it to ``bench/results/indicators.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from povanalysis.measure import indicators
from povanalysis.measure.indicators import Z_95, alkire_foster, fgt

RESULTS = Path(__file__).resolve().parent / "results" / "indicators.md"
N_IND = 12
N_COMMUNES = 92
K = 3 / 12
SEED = 20240
REPEAT_FAST = 5
REPEAT_SLOW = 3


def synthetic(n: int, seed: int = SEED) -> pd.DataFrame:
    """Households with 12 correlated deprivations, weights, income and rural/urban lines."""
    rng = np.random.default_rng(seed)
    commune = rng.integers(0, N_COMMUNES, n)
    commune_effect = rng.normal(0, 0.5, N_COMMUNES)[commune]
    latent = commune_effect + rng.normal(size=n)
    prevalence = np.linspace(-1.6, -0.2, N_IND)
    noise = rng.normal(size=(n, N_IND))
    g = (0.6 * latent[:, None] + 0.8 * noise + prevalence > 0).astype(np.int8)
    frame = pd.DataFrame(g, columns=[f"d{j}" for j in range(N_IND)])
    urban = rng.random(n) < 0.25
    frame["commune"] = 10000 + commune
    frame["district"] = frame["commune"] % 9
    frame["area"] = np.where(urban, "urban", "rural")
    frame["w"] = rng.uniform(0.5, 2.5, n)
    frame["income"] = np.exp(14.6 + 0.2 * urban - 0.35 * latent + 0.6 * rng.normal(size=n))
    frame["line"] = np.where(urban, 2_000_000.0, 1_500_000.0)
    frame["g1000"] = rng.integers(0, 1_000, n)
    frame["g10000"] = rng.integers(0, 10_000, n)
    return frame


# ----------------------------------------------------------------------------- plain numpy


def _ratio(y, x, syy, syx, sxx, g):
    with np.errstate(divide="ignore", invalid="ignore"):
        r = y / x
        var = g / (g - 1) * np.maximum(syy - 2 * r * syx + r * r * sxx, 0) / (x * x)
    return r, np.sqrt(var)


def numpy_af(frame: pd.DataFrame, columns, weights, k, by, w_col):
    """Alkire–Foster by group with linearised SEs (each unit its own PSU), np.bincount per statistic."""
    g = frame[columns].to_numpy(dtype=np.float64)
    w = frame[w_col].to_numpy(dtype=np.float64)
    codes, groups = pd.factorize(frame[by], sort=True)
    m = len(groups)

    def total(x):
        s = np.bincount(codes, weights=x, minlength=m)
        return np.append(s, s.sum())

    wts = np.asarray(weights, float) / np.sum(weights)
    score = g @ wts
    poor = (score >= k - 1e-9) & (score > 0)
    ck = np.where(poor, score, 0.0)
    w2 = w * w
    n = total(np.ones_like(w))
    N, P, C = total(w), total(w * poor), total(w * ck)
    NN, PP, CP, CC = total(w2), total(w2 * poor), total(w2 * ck), total(w2 * ck * ck)
    out = {"H": _ratio(P, N, PP, PP, NN, n), "A": _ratio(C, P, CC, CP, PP, n),
           "M0": _ratio(C, N, CC, CP, NN, n)}
    for j, col in enumerate(columns):
        gj = g[:, j]
        D, K_ = total(w * gj), total(w * gj * poor)
        DD, KK, KC = total(w2 * gj), total(w2 * gj * poor), total(w2 * gj * ck)
        out[("hd", col)] = _ratio(D, N, DD, DD, NN, n)
        out[("hdk", col)] = _ratio(K_, N, KK, KK, NN, n)
        v, s = _ratio(wts[j] * K_, C, wts[j] ** 2 * KK, wts[j] * KC, CC, n)
        out[("pctb", col)] = (100 * v, 100 * s)
    out["pop_share"] = _ratio(N[:-1], N[-1], NN[:-1], NN[:-1], NN[-1], n[-1])
    v, s = _ratio(C[:-1], C[-1], CC[:-1], CC[:-1], CC[-1], n[-1])
    out["contrib"] = (100 * v, 100 * s)
    return groups, out


def numpy_fgt(frame: pd.DataFrame, income, line, alphas, by, w_col):
    """FGT_α by group with linearised SEs, np.bincount per statistic."""
    y = frame[income].to_numpy(dtype=np.float64)
    z = frame[line].to_numpy(dtype=np.float64)
    w = frame[w_col].to_numpy(dtype=np.float64)
    codes, groups = pd.factorize(frame[by], sort=True)
    m = len(groups)

    def total(x):
        s = np.bincount(codes, weights=x, minlength=m)
        return np.append(s, s.sum())

    poor = y <= z
    gap = np.where(poor, (z - y) / z, 0.0)
    w2 = w * w
    n, N, NN = total(np.ones_like(w)), total(w), total(w2)
    out = {}
    for a in alphas:
        f = poor * gap**a
        out[f"FGT{a}"] = _ratio(total(w * f), N, total(w2 * f * f), total(w2 * f), NN, n)
    return groups, out


def check_same(pov: pd.DataFrame, groups, out, by) -> float:
    """Largest relative difference between povanalysis and the numpy results (values and SEs)."""
    worst = 0.0
    for key, (value, se) in out.items():
        measure, ind = key if isinstance(key, tuple) else (key, None)
        rows = pov[pov["measure"] == measure]
        rows = rows[rows["indicator"].isna()] if ind is None else rows[rows["indicator"] == ind]
        ours = rows.set_index(by)[["value", "se"]]
        keys = list(groups) + ([np.nan] if len(ours) == len(groups) + 1 else [])
        ref_v, ref_s = value[: len(keys)], se[: len(keys)]
        got = ours.reindex(pd.Index(keys, dtype=ours.index.dtype))
        for a, b in ((got["value"].to_numpy(float), ref_v), (got["se"].to_numpy(float), ref_s)):
            ok = np.isfinite(b)
            worst = max(worst, float(np.max(np.abs(a[ok] - b[ok]) / np.maximum(np.abs(b[ok]), 1e-300))))
    return worst


# ----------------------------------------------------------------------------- timing


def race(fns: dict, repeat: int) -> tuple[dict, dict]:
    """Minimum wall time of each function over ``repeat`` rounds (run in turn, so that every
    method sees the same machine load), and each function's last result."""
    best = dict.fromkeys(fns, np.inf)
    results = {}
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            results[name] = fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best, results


def run_mpitb(frame: pd.DataFrame, columns):
    from mpitb import MPIToolbox

    mpi = MPIToolbox()
    mpi.set(name="vn", dimensions=[(list(columns), "all")])
    mpi.svyset(weight="w")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mpi.est(frame, "vn", klist=[round(100 * K)], over=["commune"], svy=True)


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 households instead of 1,000,000")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    n = 100_000 if args.quick else 1_000_000
    frame = synthetic(n)
    columns = [f"d{j}" for j in range(N_IND)]
    weights = {c: 1 for c in columns}

    def pov_af(by="commune", **kw):
        return alkire_foster(frame, weights=weights, k=K, sample_weight="w", by=by, **kw)

    def pov_af_by_unit(by="commune"):
        """The general path: units summed one by one, without (group × pattern) cells."""
        limit = indicators._PATTERN_CELLS
        indicators._PATTERN_CELLS = 0
        try:
            return pov_af(by)
        finally:
            indicators._PATTERN_CELLS = limit

    def pov_fgt():
        return fgt("income", line="line", sample_weight="w", by="commune", data=frame)

    fast, res = race({
        "pov_af": pov_af,
        "np_af": lambda: numpy_af(frame, columns, [1] * N_IND, K, "commune", "w"),
        "pov_fgt": pov_fgt,
        "np_fgt": lambda: numpy_fgt(frame, "income", "line", (0, 1, 2), "commune", "w"),
        "pov_units": pov_af_by_unit,
        "pov_1000": lambda: pov_af_by_unit(by="g1000"),
        "pov_10000": lambda: pov_af_by_unit(by="g10000"),
        "pov_cluster": lambda: pov_af(by="district", cluster="commune"),
    }, repeat=REPEAT_FAST)
    t_pov_af, t_np_af, t_pov_fgt, t_np_fgt = (fast[k] for k in ("pov_af", "np_af", "pov_fgt", "np_fgt"))
    t_units, t_1000, t_10000 = fast["pov_units"], fast["pov_1000"], fast["pov_10000"]
    t_cluster = fast["pov_cluster"]
    res_af, res_1000, res_10000 = res["pov_af"], res["pov_1000"], res["pov_10000"]
    diff = max(check_same(res_af, *res["np_af"], "commune"), check_same(res["pov_fgt"], *res["np_fgt"], "commune"))

    copy = frame[[*columns, "commune", "w"]].copy()
    t_mpitb = race({"mpitb": lambda: run_mpitb(copy, columns)}, repeat=REPEAT_SLOW)[0]["mpitb"]

    rows = f"{n:,}"
    n_cells = N_COMMUNES << N_IND  # the condition in povanalysis.measure.indicators._af_partition
    cells_used = n_cells <= min(n // 2, indicators._PATTERN_CELLS)
    cells_note = (f"{N_COMMUNES} communes × 2^{N_IND} patterns = {n_cells:,} cells, "
                  f"{'so the first row uses them' if cells_used else 'too many for these households'}")
    lines = [
        f"Households: {rows}, {N_IND} indicators, k = 3/12, sampling weights, linearised SEs and "
        f"95% CIs (z = {Z_95:.6f}). Times are the minimum over {REPEAT_FAST} rounds in which the "
        f"methods run in turn ({REPEAT_SLOW} for mpitb), time.perf_counter, seed {SEED}.",
        "",
        "| computation | groups | povanalysis (s) | plain numpy (s) | mpitb (s) "
        "| numpy ÷ povanalysis | mpitb ÷ povanalysis |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| Alkire–Foster with SEs | {N_COMMUNES} | {t_pov_af:.3f} | {t_np_af:.3f} | "
        f"{t_mpitb:.2f} | {t_np_af / t_pov_af:.2f} | {t_mpitb / t_pov_af:.0f} |",
        f"| FGT0–2 with SEs | {N_COMMUNES} | {t_pov_fgt:.3f} | {t_np_fgt:.3f} | — | "
        f"{t_np_fgt / t_pov_fgt:.2f} | — |",
        f"| Alkire–Foster + FGT | {N_COMMUNES} | {t_pov_af + t_pov_fgt:.3f} | {t_np_af + t_np_fgt:.3f} | — | "
        f"{(t_np_af + t_np_fgt) / (t_pov_af + t_pov_fgt):.2f} | — |",
        f"| Alkire–Foster with SEs, units summed one by one‡ | {N_COMMUNES} | {t_units:.3f} | | | | |",
        f"| Alkire–Foster with SEs, units summed one by one‡ | 1,000 | {t_1000:.3f} | | | | |",
        f"| Alkire–Foster with SEs, units summed one by one‡ | 10,000 | {t_10000:.3f} | | | | |",
        f"| Alkire–Foster, SEs clustered by commune, by district | 9 | {t_cluster:.3f} | | | | |",
        "",
        f"‡ Cost by number of groups on the general path: 92 → 1,000 → 10,000 groups = "
        f"{t_units:.3f} s → {t_1000:.3f} s → {t_10000:.3f} s "
        f"({len(res_af):,} → {len(res_1000):,} → {len(res_10000):,} output rows). povanalysis first "
        f"sums the units into (group × deprivation pattern) cells when that table is small (at most "
        f"{indicators._PATTERN_CELLS:,} cells and two households per cell: {cells_note}); the ‡ rows "
        f"force the general path.",
        f"povanalysis and plain numpy agree: largest relative difference in values and SEs {diff:.1e}.",
    ]
    lines.append(
        "mpitb (0.2, `MPIToolbox.est` with `over=['commune']`, `svy=True`) loops over the communes in "
        "Python and computes simpler SEs (binomial/Kish formulas, no clustering) and no FGT; it was "
        "timed on all the rows (it adds score columns to its input, so it gets a copy of the columns "
        "it needs).")
    lines.append(f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, load average {load:.1f} at the start; "
                 f"Python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}.")
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    return text


if __name__ == "__main__":
    main()
