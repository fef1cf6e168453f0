"""Time povanalysis.measure.indicators against plain numpy, mpitb and a Dask cluster, side by side.

Run: ``.venv/bin/python bench/bench_indicators.py [--quick] [--no-national] [--national-households N]``.
Prints markdown tables and writes them to ``bench/results/indicators.md``.

- Province scale: 1,000,000 synthetic households (100,000 with ``--quick``) by 92 communes,
  against a plain numpy computation of the same table and mpitb; the cost by number of groups.
- National scale (skipped with ``--quick`` or ``--no-national``): 27,000,000 synthetic
  households, 12 int8 deprivations and float weights, generated in chunks of 3,000,000; the
  Alkire–Foster table with standard errors by 92 groups and by 3,300 communes, against plain
  numpy, and the same call on a dask DataFrame of the same chunks held by a
  ``dask.distributed.LocalCluster`` of 2 worker processes on loopback, whose table is
  checked against the pandas one. Peak memory is measured too (tracemalloc, in separate
  untimed calls). It takes about three minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from povanalysis.measure.indicators import Z_95, alkire_foster, fgt

RESULTS = Path(__file__).resolve().parent / "results" / "indicators.md"
N_IND = 12
N_COMMUNES = 92
K = 3 / 12
SEED = 20240
REPEAT_FAST = 5
REPEAT_SLOW = 3
N_NATIONAL = 27_000_000
NATIONAL_COMMUNES = 3_300
NATIONAL_GROUPS = 92
CHUNK = 3_000_000
COLUMNS = [f"d{j}" for j in range(N_IND)]
WEIGHTS = dict.fromkeys(COLUMNS, 1)


def synthetic(n: int, seed: int = SEED) -> pd.DataFrame:
    """Households with 12 correlated deprivations, weights, income and rural/urban lines."""
    rng = np.random.default_rng(seed)
    commune = rng.integers(0, N_COMMUNES, n)
    commune_effect = rng.normal(0, 0.5, N_COMMUNES)[commune]
    latent = commune_effect + rng.normal(size=n)
    prevalence = np.linspace(-1.6, -0.2, N_IND)
    noise = rng.normal(size=(n, N_IND))
    g = (0.6 * latent[:, None] + 0.8 * noise + prevalence > 0).astype(np.int8)
    frame = pd.DataFrame(g, columns=COLUMNS)
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


def national_chunk(i: int, rows: int = CHUNK) -> pd.DataFrame:
    """Chunk ``i`` of the national households: the same rows wherever it is generated.

    12 correlated int8 deprivations, float weights, the commune (3,300) and a group of
    communes (92, each about 36 communes).
    """
    rng = np.random.default_rng([SEED, i])
    commune = rng.integers(0, NATIONAL_COMMUNES, rows)
    effect = np.random.default_rng(SEED).normal(0, 0.5, NATIONAL_COMMUNES)
    latent = effect[commune] + rng.standard_normal(rows, dtype=np.float32)
    prevalence = np.linspace(-1.6, -0.2, N_IND)
    columns = {
        c: (0.6 * latent + 0.8 * rng.standard_normal(rows, dtype=np.float32) + p > 0).astype(np.int8)
        for c, p in zip(COLUMNS, prevalence)
    }
    columns["commune"] = (10000 + commune).astype(np.int32)
    columns["group"] = (commune * NATIONAL_GROUPS // NATIONAL_COMMUNES).astype(np.int16)
    columns["w"] = rng.uniform(0.5, 2.5, rows)
    return pd.DataFrame(columns, index=pd.RangeIndex(i * CHUNK, i * CHUNK + rows))


def national_sizes(n: int) -> list[int]:
    return [min(CHUNK, n - start) for start in range(0, n, CHUNK)]


def national_frame(n: int) -> pd.DataFrame:
    """The national households in one pandas frame, filled chunk by chunk (no concatenation)."""
    sizes = national_sizes(n)
    first = national_chunk(0, sizes[0])
    arrays = {c: np.empty(n, dtype=first[c].dtype) for c in first.columns}
    start = 0
    for i, rows in enumerate(sizes):
        chunk = first if i == 0 else national_chunk(i, rows)
        for c in arrays:
            arrays[c][start : start + rows] = chunk[c].to_numpy()
        start += rows
    return pd.DataFrame(arrays, copy=False)


# ----------------------------------------------------------------------------- plain numpy


def _ratio(y, x, syy, syx, sxx, g):
    with np.errstate(divide="ignore", invalid="ignore"):
        r = y / x
        var = g / (g - 1) * np.maximum(syy - 2 * r * syx + r * r * sxx, 0) / (x * x)
    return r, np.sqrt(var)


def numpy_af(frame: pd.DataFrame, columns, weights, k, by, w_col):
    """Alkire–Foster by group with linearised SEs (each unit its own PSU), np.bincount per statistic.

    One indicator column at a time as floats, so that memory stays a few arrays of the units.
    """
    w = frame[w_col].to_numpy(dtype=np.float64)
    codes, groups = pd.factorize(frame[by], sort=True)
    m = len(groups)

    def total(x):
        s = np.bincount(codes, weights=x, minlength=m)
        return np.append(s, s.sum())

    wts = np.asarray(weights, float) / np.sum(weights)
    score = np.zeros(len(w))
    for j, col in enumerate(columns):
        score += frame[col].to_numpy(dtype=np.float64) * wts[j]
    poor = (score >= k - 1e-9) & (score > 0)
    ck = np.where(poor, score, 0.0)
    w2 = w * w
    n = total(np.ones_like(w))
    N, P, C = total(w), total(w * poor), total(w * ck)
    NN, PP, CP, CC = total(w2), total(w2 * poor), total(w2 * ck), total(w2 * ck * ck)
    out = {"H": _ratio(P, N, PP, PP, NN, n), "A": _ratio(C, P, CC, CP, PP, n), "M0": _ratio(C, N, CC, CP, NN, n)}
    for j, col in enumerate(columns):
        gj = frame[col].to_numpy(dtype=np.float64)
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


def table_difference(a: pd.DataFrame, b: pd.DataFrame) -> tuple[bool, float, float]:
    """Whether two tables have the same rows, labels and counts, and the largest relative
    differences of their values and of their standard errors."""
    numbers = ["value", "se", "ci_lower", "ci_upper"]
    try:
        pd.testing.assert_frame_equal(a.drop(columns=numbers), b.drop(columns=numbers))
    except AssertionError:
        return False, np.inf, np.inf

    def worst(col):
        x, y = a[col].to_numpy(float), b[col].to_numpy(float)
        ok = np.isfinite(y)
        if not (np.isfinite(x) == ok).all():
            return np.inf
        return float(np.max(np.abs(x[ok] - y[ok]) / np.maximum(np.abs(y[ok]), 1e-300)))

    return True, worst("value"), worst("se")


# ----------------------------------------------------------------------------- timing, memory


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


def peak_memory(fn) -> float:
    """Most memory (GB) that ``fn`` held at once beyond what existed before it ran: numpy
    arrays and Python objects, traced by tracemalloc (numpy reports its allocations)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 1e9
    finally:
        tracemalloc.stop()


def max_rss_gb() -> float:
    """Peak resident memory of this process so far (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def run_mpitb(frame: pd.DataFrame, columns):
    from mpitb import MPIToolbox

    mpi = MPIToolbox()
    mpi.set(name="vn", dimensions=[(list(columns), "all")])
    mpi.svyset(weight="w")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mpi.est(frame, "vn", klist=[round(100 * K)], over=["commune"], svy=True)


# ----------------------------------------------------------------------------- province scale


def province(n: int) -> list[str]:
    frame = synthetic(n)

    def pov_af(by="commune", **kw):
        return alkire_foster(frame, weights=WEIGHTS, k=K, sample_weight="w", by=by, **kw)

    def pov_fgt():
        return fgt("income", line="line", sample_weight="w", by="commune", data=frame)

    fast, res = race(
        {
            "pov_af": pov_af,
            "np_af": lambda: numpy_af(frame, COLUMNS, [1] * N_IND, K, "commune", "w"),
            "pov_fgt": pov_fgt,
            "np_fgt": lambda: numpy_fgt(frame, "income", "line", (0, 1, 2), "commune", "w"),
            "pov_1000": lambda: pov_af(by="g1000"),
            "pov_10000": lambda: pov_af(by="g10000"),
            "pov_cluster": lambda: pov_af(by="district", cluster="commune"),
        },
        repeat=REPEAT_FAST,
    )
    t_pov_af, t_np_af, t_pov_fgt, t_np_fgt = (fast[k] for k in ("pov_af", "np_af", "pov_fgt", "np_fgt"))
    t_1000, t_10000, t_cluster = fast["pov_1000"], fast["pov_10000"], fast["pov_cluster"]
    diff = max(
        check_same(res["pov_af"], *res["np_af"], "commune"), check_same(res["pov_fgt"], *res["np_fgt"], "commune")
    )

    copy = frame[[*COLUMNS, "commune", "w"]].copy()
    t_mpitb = race({"mpitb": lambda: run_mpitb(copy, COLUMNS)}, repeat=REPEAT_SLOW)[0]["mpitb"]
    return [
        f"### Province scale: {n:,} households",
        "",
        f"{N_IND} indicators, k = 3/12, sampling weights, linearised SEs and 95% CIs (z = {Z_95:.6f}). "
        f"Times are the minimum over {REPEAT_FAST} rounds in which the methods run in turn "
        f"({REPEAT_SLOW} for mpitb), time.perf_counter, seed {SEED}.",
        "",
        "| computation | groups | povanalysis (s) | plain numpy (s) | mpitb (s) "
        "| numpy ÷ povanalysis | mpitb ÷ povanalysis |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| Alkire–Foster with SEs | {N_COMMUNES} | {t_pov_af:.3f} | {t_np_af:.3f} | "
        f"{t_mpitb:.2f} | {t_np_af / t_pov_af:.2f} | {t_mpitb / t_pov_af:.0f} |",
        f"| FGT0–2 with SEs | {N_COMMUNES} | {t_pov_fgt:.3f} | {t_np_fgt:.3f} | — | {t_np_fgt / t_pov_fgt:.2f} | — |",
        f"| Alkire–Foster + FGT | {N_COMMUNES} | {t_pov_af + t_pov_fgt:.3f} | {t_np_af + t_np_fgt:.3f} | — | "
        f"{(t_np_af + t_np_fgt) / (t_pov_af + t_pov_fgt):.2f} | — |",
        f"| Alkire–Foster with SEs | 1,000 | {t_1000:.3f} | | | | |",
        f"| Alkire–Foster with SEs | 10,000 | {t_10000:.3f} | | | | |",
        f"| Alkire–Foster, SEs clustered by commune, by district | 9 | {t_cluster:.3f} | | | | |",
        "",
        f"Cost by number of groups: 92 → 1,000 → 10,000 groups = {t_pov_af:.3f} s → {t_1000:.3f} s → "
        f"{t_10000:.3f} s ({len(res['pov_af']):,} → {len(res['pov_1000']):,} → {len(res['pov_10000']):,} "
        "output rows).",
        f"povanalysis and plain numpy agree: largest relative difference in values and SEs {diff:.1e}.",
        "mpitb (0.2, `MPIToolbox.est` with `over=['commune']`, `svy=True`) loops over the communes in "
        "Python and computes simpler SEs (binomial/Kish formulas, no clustering) and no FGT; it was "
        "timed on all the rows (it adds score columns to its input, so it gets a copy of the columns "
        "it needs).",
    ]


# ----------------------------------------------------------------------------- national scale


def national(n: int) -> list[str]:
    import dask.dataframe as dd
    from distributed import Client, LocalCluster, wait

    start = time.perf_counter()
    frame = national_frame(n)
    t_generate = time.perf_counter() - start
    data_gb = frame.memory_usage(index=False).sum() / 1e9
    by = {NATIONAL_GROUPS: "group", NATIONAL_COMMUNES: "commune"}
    sizes = national_sizes(n)

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, protocol="tcp", host="127.0.0.1", dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        start = time.perf_counter()
        lazy = dd.from_map(national_chunk, range(len(sizes)), sizes, meta=national_chunk(0, 0)).persist()
        wait(lazy)
        t_scatter = time.perf_counter() - start

        def ours(data, groups):
            return lambda: alkire_foster(data, weights=WEIGHTS, k=K, sample_weight="w", by=by[groups])

        def plain(groups):
            return lambda: numpy_af(frame, COLUMNS, [1] * N_IND, K, by[groups], "w")

        fns = {}
        for groups in by:
            fns |= {
                ("pov", groups): ours(frame, groups),
                ("np", groups): plain(groups),
                ("dask", groups): ours(lazy, groups),
            }
        best, res = race(fns, repeat=REPEAT_SLOW)
        memory = {key: peak_memory(fn) for key, fn in fns.items() if key[0] != "dask"}
        memory |= {("dask", g): peak_memory(fns[("dask", g)]) for g in by}  # on this side of the cluster
        workers_gb = sum(client.run(max_rss_gb).values())
        n_partitions = lazy.npartitions

    agree = {g: check_same(res[("pov", g)], *res[("np", g)], by[g]) for g in by}
    same = {g: table_difference(res[("dask", g)], res[("pov", g)]) for g in by}
    small, large = NATIONAL_GROUPS, NATIONAL_COMMUNES
    rows = {g: len(res[("pov", g)]) for g in by}

    lines = [
        f"### National scale: {n:,} households",
        "",
        f"{N_IND} int8 indicators, float weights, k = 3/12, the Alkire–Foster table with linearised SEs "
        f"(each household its own PSU) by {small} groups and by {large:,} communes. Times are the "
        f"minimum over {REPEAT_SLOW} rounds in which every method runs in turn. The data ({data_gb:.2f} GB) "
        f"were generated in chunks of {CHUNK:,} in {t_generate:.0f} s; the dask DataFrame holds the same "
        f"chunks ({n_partitions} partitions), generated and persisted on a `dask.distributed.LocalCluster` "
        f"of 2 worker processes × 1 thread on 127.0.0.1 in {t_scatter:.0f} s.",
        "",
        "| computation | groups | output rows | time (s) | ÷ povanalysis, same groups "
        f"| ÷ povanalysis, {small} groups | peak memory (GB) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    names = {"pov": "povanalysis, pandas", "np": "plain numpy", "dask": "povanalysis, dask cluster (2 workers)"}
    for method, label in names.items():
        for g in by:
            t = best[(method, g)]
            note = "†" if method == "dask" else ""
            lines.append(
                f"| {label} | {g:,} | {rows[g]:,} | {t:.3f} | {t / best[('pov', g)]:.2f} | "
                f"{t / best[('pov', small)]:.2f} | {memory[(method, g)]:.2f}{note} |"
            )

    def growth(method):
        return best[(method, large)] / best[(method, small)]

    lines += [
        "",
        f"Cost of {large:,} groups ÷ cost of {small}: povanalysis {growth('pov'):.2f}×, plain numpy "
        f"{growth('np'):.2f}×, dask cluster {growth('dask'):.2f}×. Plain numpy ÷ povanalysis: "
        + ", ".join(f"{best[('np', g)] / best[('pov', g)]:.1f}× ({g:,} groups)" for g in by)
        + ".",
        "Peak memory is what one call held at once beyond its input (tracemalloc, a separate untimed call); "
        f"† on the client only: the 2 workers together peaked at {workers_gb:.2f} GB resident, with their "
        f"half of the data each. This process peaked at {max_rss_gb():.2f} GB resident.",
        "povanalysis and plain numpy agree: largest relative difference in values and SEs "
        + ", ".join(f"{agree[g]:.1e} ({g:,} groups)" for g in by)
        + ".",
        "The dask cluster's table equals the pandas one: "
        + ", ".join(
            f"{'same' if same[g][0] else 'DIFFERENT'} rows, labels and counts, values within "
            f"{same[g][1]:.1e} and SEs within {same[g][2]:.1e} ({g:,} groups)"
            for g in by
        )
        + " (relative; the partitions' sums are added in another order).",
    ]
    return lines


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="100,000 households at province scale, and no national run"
    )
    parser.add_argument(
        "--national",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the national-scale run (default: on, unless --quick)",
    )
    parser.add_argument(
        "--national-households",
        type=int,
        default=N_NATIONAL,
        metavar="N",
        help=f"households in the national run (default {N_NATIONAL:,})",
    )
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    lines = province(100_000 if args.quick else 1_000_000)
    if args.national and not args.quick:
        lines += [""] + national(args.national_households)
    lines += [
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, load average {load:.1f} at the start; "
        f"Python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    return text


if __name__ == "__main__":
    main()
