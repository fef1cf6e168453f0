"""Loan channels: the entrusted mass organisation and savings-and-credit group of each VBSP loan, checked and synthesised.

VBSP lends to households through four mass organisations (Women's Union, Farmers' Union,
Veterans' Association, Youth Union) and their savings-and-credit groups (tổ tiết kiệm và vay
vốn, "tổ TK&VV") in villages.  A loan file may name them (``channel``, ``group_code``) and say
whether a loan has overdue principal (``overdue``); :func:`povanalysis.data.io.read_loans` reads
them with the helpers here.  The synthetic panel draws them with :func:`assign_channels`, last
and from a random stream of its own, so every other column of the panel is unchanged.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from ..common.checks import require_frame
from .schema import CHANNEL_NAMES, CHANNELS, PROGRAMMES

__all__ = [
    "CHANNEL_STREAM",
    "CHANNEL_ALIASES",
    "CHANNEL_MIX",
    "GROUP_SIZE",
    "BORROWING_SHARE",
    "MIN_GROUP_MEMBERS",
    "OVERDUE_RATE",
    "channel_codes",
    "channel_problem",
    "flag_values",
    "group_problems",
    "assign_channels",
]

#: The extra key of the channel stream: channels, groups and overdue flags are drawn from
#: ``SeedSequence(seed, spawn_key=(CHANNEL_STREAM,))``, never from the generator's main stream.
CHANNEL_STREAM = 0x6368_616E  # "chan"


def _folded(text: str) -> str:
    """``text`` in NFC, lower case, single spaces: how names are compared."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", str(text)).strip().lower())


#: Names a file may use for each organisation (compared in lower case, NFC, single spaces):
#: the code, the full Vietnamese and English names and the short forms used in VBSP reports.
CHANNEL_ALIASES: dict[str, str] = {
    _folded(alias): code
    for code, aliases in {
        "women": ("women", "Hội Liên hiệp Phụ nữ", "Hội LHPN", "Hội Phụ nữ", "Phụ nữ", "Women's Union"),
        "farmers": ("farmers", "Hội Nông dân", "Nông dân", "Farmers' Union"),
        "veterans": ("veterans", "Hội Cựu chiến binh", "Cựu chiến binh", "CCB", "Veterans' Association"),
        "youth": ("youth", "Đoàn Thanh niên", "Đoàn TNCS Hồ Chí Minh", "Thanh niên", "Youth Union"),
    }.items()
    for alias in aliases
}

#: Share of the savings-and-credit groups each organisation runs, on average over communes (an
#: assumption: the Women's and Farmers' Unions carry most of VBSP's household lending, the
#: Veterans' Association and the Youth Union the rest).  Each commune's mix is drawn around it
#: (Dirichlet with concentration :data:`_MIX_CONCENTRATION`).
CHANNEL_MIX: dict[str, float] = {"women": 0.42, "farmers": 0.33, "veterans": 0.15, "youth": 0.10}
_MIX_CONCENTRATION = 30.0

#: Members of a savings-and-credit group at full scale (uniform between the bounds): an
#: assumption (a few tens of VBSP borrowers of one village, of every programme).
GROUP_SIZE: tuple[int, int] = (20, 60)

#: Share of a village's households that borrow from VBSP under any programme (reference §7:
#: about 6.7–6.9 million borrowing households, roughly a quarter of all households).  The
#: panel's loans (the household programmes of 2022–2025) are a part of the groups' members.
BORROWING_SHARE = 0.25

#: A group holds at least this many of the panel's borrowers (fewer groups in a village otherwise).
MIN_GROUP_MEMBERS = 3

#: Probability that a loan has overdue principal at the last review, by programme (an assumption
#: of a few tenths of a percent, reference §7: national overdue and frozen debt 0.5–0.6% of
#: outstanding, old Bac Kan about 0.15%).  Loans to poor households fall overdue more often.
#: Each group multiplies the probability of its members' loans by a shared factor (gamma, mean 1,
#: :data:`_GROUP_RISK_SHAPE`): members of a group share risk.  No organisation differs in risk.
OVERDUE_RATE: dict[str, float] = {"poor": 0.005, "near_poor": 0.003, "newly_escaped": 0.002}
_GROUP_RISK_SHAPE = 1.0

_TRUE = {"1", "1.0", "true", "yes", "có"}
_FALSE = {"0", "0.0", "false", "no", "không"}


# ----------------------------------------------------------------------------- reading


def channel_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The code of :data:`~povanalysis.data.schema.CHANNELS` each value names, and the mask of values that name none.

    Codes and the names of :data:`CHANNEL_ALIASES` are accepted in any case and spacing;
    missing values are neither named nor flagged (they map to ``None``).

    Examples
    --------
    >>> codes, bad = channel_codes(pd.Series(["women", "Hội Nông dân", "hội  cựu chiến binh", "Bank"]))
    >>> codes.tolist(), bad.tolist()
    (['women', 'farmers', 'veterans', None], [False, False, False, True])
    """
    text = pd.Series(values, dtype=object).reset_index(drop=True)
    missing = text.isna().to_numpy(bool) | (text.astype(str).str.strip() == "").to_numpy(bool)
    uniques, inverse = np.unique(text.where(~missing, "").astype(str).to_numpy(), return_inverse=True)
    mapped = np.array([CHANNEL_ALIASES.get(_folded(u)) for u in uniques], dtype=object)
    codes = mapped[inverse] if len(text) else np.empty(0, dtype=object)
    codes = np.where(missing, None, codes)
    return codes, ~missing & pd.isna(codes)


def channel_problem() -> str:
    """The problem of a value that names no organisation."""
    names = ", ".join(f"{code!r} ({vi})" for code, (vi, _) in CHANNEL_NAMES.items())
    return f"must name an entrusted organisation: one of {names}"


def flag_values(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A yes/no column as booleans, and the mask of filled values that are neither.

    Booleans, the numbers 0 and 1, and the texts ``0``/``1``, ``true``/``false``,
    ``yes``/``no``, ``có``/``không`` (any case) are read; missing values are ``False`` and not
    flagged (the caller reports them as empty).

    Examples
    --------
    >>> flag_values(pd.Series(["1", "Không", "có", "maybe"]))[0].tolist()
    [True, False, True, False]
    >>> flag_values(pd.Series([0, 1, 2]))[1].tolist()
    [False, False, True]
    """
    s = pd.Series(values).reset_index(drop=True)
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.fillna(False).to_numpy(bool), np.zeros(len(s), dtype=bool)
    if pd.api.types.is_numeric_dtype(s.dtype):
        x = s.to_numpy(dtype="float64", na_value=np.nan)
        return x == 1, ~np.isnan(x) & (x != 0) & (x != 1)
    missing = s.isna().to_numpy(bool)
    text = s.where(~missing, "").astype(str).map(_folded)
    true, false = text.isin(_TRUE).to_numpy(bool), text.isin(_FALSE).to_numpy(bool)
    return true, ~missing & (text != "").to_numpy(bool) & ~true & ~false


def _reference(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the value most rows of its key give (ties: the earliest), and the first row giving it."""
    frame = pd.DataFrame({"key": keys, "value": values, "pos": np.arange(len(keys))})
    runs = frame.groupby(["key", "value"], sort=False)["pos"].agg(["size", "min"]).reset_index()
    runs = runs.sort_values(["key", "size", "min"], ascending=[True, False, True], kind="stable")
    best = runs.drop_duplicates("key").set_index("key")
    return frame["key"].map(best["value"]).to_numpy(object), frame["key"].map(best["min"]).to_numpy("int64")


def group_problems(
    group: np.ndarray,
    where: Callable[[np.ndarray], list[str]],
    *,
    channel: np.ndarray | None = None,
    commune: np.ndarray | None = None,
) -> list[tuple[int, str, object, str]]:
    """Every row whose savings-and-credit group has another organisation or commune elsewhere, as ``(position, column, value, problem)``.

    A group belongs to one commune and is run by one organisation: the reference is what most
    rows of the group say (the earliest of them on a tie), and the rows that say otherwise are
    the invalid ones, named with the row they disagree with (``where`` names rows by position).

    Examples
    --------
    >>> group_problems(np.array(["G1", "G1", "G1"]), lambda pos: [f"row {p}" for p in pos],
    ...                channel=np.array(["women", "women", "youth"]))
    [(2, 'channel', 'youth', "group 'G1' is run by 'women' at row 0: a group belongs to one organisation")]
    """
    group = np.asarray(group, dtype=object)
    found: list[tuple[int, str, object, str]] = []
    checks = (
        ("channel", channel, "is run by", "one organisation"),
        ("group_code", commune, "is in commune", "one commune"),
    )
    for column, values, verb, rule in checks:
        if values is None:
            continue
        values = np.asarray(values, dtype=object)
        known = np.flatnonzero(pd.notna(values) & pd.notna(group))
        if not len(known):
            continue
        expected, at = _reference(group[known], values[known])
        bad = np.flatnonzero(values[known] != expected)
        places = where(known[at[bad]]) if len(bad) else []
        for k, place in zip(bad, places):
            i = int(known[k])
            value = values[i] if column == "channel" else group[i]
            found.append(
                (i, column, value, f"group {group[i]!r} {verb} {expected[k]!r} at {place}: a group belongs to {rule}")
            )
    return sorted(found, key=lambda p: (p[0], p[1]))


# ----------------------------------------------------------------------------- the synthetic channels


def _group_count(n_households: int, n_members: int, scale: float, rng: np.random.Generator) -> int:
    """Groups of a village: its VBSP borrowers at full scale in groups of :data:`GROUP_SIZE`, each with some of the panel's."""
    size = rng.uniform(*GROUP_SIZE)
    full = max(1, round(n_households / scale * BORROWING_SHARE / size))
    return max(1, min(full, n_members // MIN_GROUP_MEMBERS))


def assign_channels(
    loans: pd.DataFrame,
    villages: pd.DataFrame,
    *,
    seed: int,
    scale: float = 1.0,
    overdue_rate: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """The organisation, savings-and-credit group and overdue flag of every loan of a synthetic panel.

    Reads only the loans and villages already drawn and draws from its own stream
    (``SeedSequence(seed, spawn_key=(CHANNEL_STREAM,))``), so the households, loans, villages
    and every figure of the panel are the same with or without channels.

    Assumptions (full scale): a savings-and-credit group has 20 to 60 members
    (:data:`GROUP_SIZE`), all VBSP borrowers of one village, and is run by one organisation; a
    quarter of a village's households borrow (:data:`BORROWING_SHARE`), so a village of 100–300
    households has one to four groups.  The panel's loans (household programmes, 2022–2025) are
    a part of the groups' members: the panel's borrowers of a village are split at random among
    its groups, no group holding fewer than :data:`MIN_GROUP_MEMBERS` of them (fewer groups
    otherwise; at a reduced ``scale`` the count of groups is that of full scale under the same
    cap).  The first groups of a village go to different
    organisations, drawn from the commune's mix (:data:`CHANNEL_MIX`: Women's and Farmers'
    Unions carry about three quarters), further groups from the same mix.  A household keeps
    its group for every loan.  A loan has overdue principal at the last review with probability
    :data:`OVERDUE_RATE` of its programme (0.5% poor, 0.3% near-poor, 0.2% newly escaped)
    times its group's shared risk factor (gamma, mean 1, standard deviation 1), so overdue loans
    cluster in groups; no organisation is planted riskier than another, and none changes the
    effect of credit.

    Parameters
    ----------
    loans : DataFrame
        The panel's loans (``household_id``, ``programme``), in their order.
    villages : DataFrame
        The village of each household (``household_id``, ``commune_code``, ``village_code``).
    seed : int
        The panel's seed.
    scale : float
        The panel's scale (share of the province's households).
    overdue_rate : mapping, optional
        Overdue probability by programme, instead of :data:`OVERDUE_RATE`.

    Returns
    -------
    DataFrame
        Aligned to ``loans`` (same index): ``channel`` (a code of
        :data:`~povanalysis.data.schema.CHANNELS`), ``group_code`` (the village code and the
        group's number, ``01840-007-T2``) and ``overdue`` (bool).

    Examples
    --------
    >>> from povanalysis.data import synth
    >>> panel = synth.generate(seed=3, scale=0.005)
    >>> c = assign_channels(panel.loans, panel.villages, seed=3, scale=0.005)
    >>> c.equals(panel.loans[["channel", "group_code", "overdue"]])
    True
    """
    if not isinstance(scale, int | float) or isinstance(scale, bool) or not scale > 0:
        raise ValueError(f"'scale' must be a positive number, got {scale!r}")
    require_frame(loans, "loans", ["household_id", "programme"])
    require_frame(villages, "villages", ["household_id", "commune_code", "village_code"])
    rates = dict(OVERDUE_RATE if overdue_rate is None else overdue_rate)
    unknown = sorted(set(PROGRAMMES) - set(rates))
    if unknown or any(not 0 <= float(r) <= 1 for r in rates.values()):
        raise ValueError(f"'overdue_rate' needs a probability in [0, 1] for each of {PROGRAMMES}, got {rates!r}")
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(CHANNEL_STREAM,)))
    home = villages.drop_duplicates("household_id").set_index("household_id")
    village_of = loans["household_id"].map(home["village_code"])
    if village_of.isna().any():
        missing = loans.loc[village_of.isna(), "household_id"].iloc[0]
        raise ValueError(f"loan of household {missing!r} has no village in 'villages'")
    members = pd.DataFrame({"household_id": loans["household_id"].unique()})
    members["village_code"] = members["household_id"].map(home["village_code"]).astype(str)
    members["commune_code"] = members["household_id"].map(home["commune_code"]).astype(str)
    members = members.sort_values("household_id", kind="stable").reset_index(drop=True)
    base = np.array([CHANNEL_MIX[c] for c in CHANNELS])
    communes = sorted(members["commune_code"].unique())
    mix = dict(zip(communes, rng.dirichlet(_MIX_CONCENTRATION * base, len(communes))))
    group_of = np.empty(len(members), dtype=object)
    channel_of_group: dict[str, str] = {}
    village_size = villages["village_code"].astype(str).value_counts()
    for village, rows in members.groupby("village_code", sort=True).indices.items():
        k = _group_count(int(village_size[village]), len(rows), scale, rng)
        p = mix[members.at[rows[0], "commune_code"]]
        first = rng.choice(len(CHANNELS), size=min(k, len(CHANNELS)), replace=False, p=p)
        rest = rng.choice(len(CHANNELS), size=k - len(first), p=p)
        share = rng.gamma(6.0, 1.0, k)
        sizes = 1 + rng.multinomial(len(rows) - k, share / share.sum())
        codes = [f"{village}-T{j + 1}" for j in range(k)]
        group_of[rng.permutation(rows)] = np.repeat(codes, sizes)
        channel_of_group.update(zip(codes, np.asarray(CHANNELS)[np.r_[first, rest]]))
    groups = sorted(channel_of_group)
    risk = dict(zip(groups, rng.gamma(_GROUP_RISK_SHAPE, 1 / _GROUP_RISK_SHAPE, len(groups))))
    group = loans["household_id"].map(dict(zip(members["household_id"], group_of))).astype(str)
    p_overdue = loans["programme"].map(rates).to_numpy(float) * group.map(risk).to_numpy(float)
    overdue = rng.random(len(loans)) < np.minimum(p_overdue, 1.0)
    return pd.DataFrame(
        {
            "channel": group.map(channel_of_group).astype(str).to_numpy(),
            "group_code": group.to_numpy(),
            "overdue": overdue,
        },
        index=loans.index,
    )
