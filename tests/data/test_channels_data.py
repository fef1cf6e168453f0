"""Loan channels: reading the organisation, group and overdue columns, and the synthetic panel's channels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from povanalysis.data import synth
from povanalysis.data.channels import (
    CHANNEL_ALIASES,
    assign_channels,
    channel_codes,
    flag_values,
    group_problems,
)
from povanalysis.data.io import read_loans, write_parquet
from povanalysis.data.schema import CHANNEL_NAMES, CHANNELS, LOAN_CHANNEL_COLUMNS, LOAN_COLUMNS
from povanalysis.data.sources import ValidationError

HEADER = "household_id,programme,disbursed,amount,rate,term_months"


def write_loans(path, extra_header: str, rows: list[str]) -> None:
    lines = [HEADER + ("," + extra_header if extra_header else "")]
    for i, tail in enumerate(rows):
        lines.append(f"H{i + 1},poor,2023-04-03,50000000,0.066,60" + ("," + tail if tail else ""))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# ----------------------------------------------------------------------------- reading


def test_a_file_without_the_channel_columns_reads_as_before(tmp_path):
    path = tmp_path / "loans.csv"
    write_loans(path, "", ["", ""])
    loans = read_loans(path)
    assert list(loans.columns) == list(LOAN_COLUMNS)


def test_codes_and_vietnamese_names_are_read_as_codes(tmp_path):
    path = tmp_path / "loans.csv"
    names = ["women", "Hội Liên hiệp Phụ nữ", "hội nông dân", "Hội  Cựu chiến binh", "Đoàn Thanh niên", "CCB"]
    write_loans(path, "channel,group_code,overdue", [f"{n},G{i},{f}" for i, (n, f) in enumerate(
        zip(names, ["0", "1", "có", "không", "true", "FALSE"]))])  # fmt: skip
    loans = read_loans(path)
    assert list(loans.columns) == list(LOAN_COLUMNS) + list(LOAN_CHANNEL_COLUMNS)
    assert loans["channel"].tolist() == ["women", "women", "farmers", "veterans", "youth", "veterans"]
    assert loans["overdue"].tolist() == [False, True, True, False, True, False]
    assert loans["overdue"].dtype == bool and loans["group_code"].tolist() == [f"G{i}" for i in range(6)]


def test_an_unknown_organisation_names_file_row_column_and_value(tmp_path):
    path = tmp_path / "loans.csv"
    write_loans(path, "channel", ["women", "Ngân hàng"])
    with pytest.raises(ValidationError) as err:
        read_loans(path)
    e = err.value
    assert (e.row, e.column, e.value) == (2, "channel", "Ngân hàng")
    assert "loans.csv" in str(e) and "row 2 (line 3 of the file)" in str(e)
    assert "Hội Liên hiệp Phụ nữ" in str(e)


def test_empty_and_unreadable_cells_are_errors_never_coerced(tmp_path):
    path = tmp_path / "loans.csv"
    write_loans(path, "channel,overdue", ["women,", ",0", "women,2"])
    with pytest.raises(ValidationError) as err:
        read_loans(path)
    problems = err.value.problems
    assert problems[["row", "column"]].values.tolist() == [[1, "overdue"], [2, "channel"], [3, "overdue"]]
    assert problems["problem"].tolist()[:2] == ["required value is empty"] * 2
    kept = read_loans(path, quarantine=tmp_path / "q.csv")
    assert len(kept) == 0 and kept.attrs["povanalysis.io"]["quarantined"] == 3


def test_a_group_has_one_organisation_and_one_commune(tmp_path):
    path = tmp_path / "loans.csv"
    write_loans(path, "channel,group_code", ["women,G1", "Hội Phụ nữ,G1", "youth,G1", "farmers,G2", "farmers,G2"])
    households = pd.DataFrame({"household_id": [f"H{i}" for i in range(1, 6)],
                               "commune_code": ["01840", "01840", "01840", "01843", "01840"]})  # fmt: skip
    with pytest.raises(ValidationError) as err:
        read_loans(path, households=households)
    problems = err.value.problems
    assert problems[["row", "column", "value"]].values.tolist() == [
        [3, "channel", "youth"],
        [5, "group_code", "G2"],
    ]
    assert "group 'G1' is run by 'women' at row 1 (line 2 of the file)" in problems["problem"].iloc[0]
    assert "group 'G2' is in commune '01843' at row 4" in problems["problem"].iloc[1]  # a tie: the earliest
    kept = read_loans(path, households=households, quarantine=tmp_path / "q.csv")
    assert kept["household_id"].tolist() == ["H1", "H2", "H4"]
    assert read_loans(path, households=households.drop(columns="commune_code"), quarantine=tmp_path / "r.csv")[
        "household_id"
    ].tolist() == ["H1", "H2", "H4", "H5"]


def test_parquet_round_trip_of_the_synthetic_loans(small_panel, tmp_path):
    path = write_parquet(small_panel.loans, tmp_path / "loans.parquet")
    back = read_loans(path, households=small_panel.households)
    pd.testing.assert_frame_equal(
        back, small_panel.loans.astype({"channel": "str", "group_code": "str"}), check_dtype=False
    )
    assert back["overdue"].dtype == bool


def test_a_number_stored_as_a_channel_is_refused(tmp_path):
    frame = pd.DataFrame({"household_id": ["H1"], "programme": ["poor"], "disbursed": [pd.Timestamp("2023-01-05")],
                          "amount": [5e7], "rate": [0.066], "term_months": [60], "channel": [1]})  # fmt: skip
    path = write_parquet(frame, tmp_path / "loans.parquet")
    with pytest.raises(ValidationError, match="column 'channel' is stored as int64"):
        read_loans(path)


@given(st.sampled_from(sorted(CHANNEL_ALIASES)), st.sampled_from([str.upper, str.lower, str.title]), st.integers(0, 3))
def test_every_alias_in_any_case_and_spacing_names_its_organisation(alias, case, pad):
    codes, bad = channel_codes(pd.Series([" " * pad + case(alias) + " " * pad]))
    assert codes.tolist() == [CHANNEL_ALIASES[alias]] and not bad.any()


def test_names_of_the_organisations_are_aliases():
    for code, (vi, en) in CHANNEL_NAMES.items():
        assert CHANNEL_ALIASES[vi.lower()] == code and CHANNEL_ALIASES[en.lower()] == code


def test_flags_accept_booleans_and_flag_other_numbers():
    values, bad = flag_values(pd.Series([True, False]))
    assert values.tolist() == [True, False] and not bad.any()
    values, bad = flag_values(pd.Series([1.0, 0.0, 0.5]))
    assert values.tolist() == [True, False, False] and bad.tolist() == [False, False, True]


def test_group_problems_take_the_majority_as_reference():
    found = group_problems(
        np.array(["G", "G", "G", "H"]),
        lambda pos: [f"row {p}" for p in pos],
        channel=np.array(["youth", "women", "women", "youth"]),
    )
    assert [(p[0], p[1], p[2]) for p in found] == [(0, "channel", "youth")]
    assert "is run by 'women' at row 1" in found[0][3]


# ----------------------------------------------------------------------------- the synthetic channels


def test_channels_depend_only_on_loans_villages_and_seed(small_panel):
    again = assign_channels(small_panel.loans, small_panel.villages, seed=11, scale=0.02)
    pd.testing.assert_frame_equal(again, small_panel.loans[list(LOAN_CHANNEL_COLUMNS)])
    other = assign_channels(small_panel.loans, small_panel.villages, seed=12, scale=0.02)
    assert not other["group_code"].equals(again["group_code"])


def test_every_group_is_one_village_and_one_organisation(small_panel):
    loans = small_panel.loans
    village = loans["household_id"].map(small_panel.villages.set_index("household_id")["village_code"])
    assert (loans["group_code"].str.rsplit("-", n=1).str[0] == village).all()
    assert loans["group_code"].str.fullmatch(r"\d{5}-\d{3}-T\d+").all()
    assert (loans.groupby("group_code")["channel"].nunique() == 1).all()
    assert (loans.groupby("household_id")["group_code"].nunique() == 1).all()
    assert set(loans["channel"]) == set(CHANNELS)


def test_womens_and_farmers_unions_carry_most_loans(small_panel):
    share = small_panel.loans["channel"].value_counts(normalize=True)
    assert share["women"] + share["farmers"] > 0.6
    assert share["women"] > share["veterans"] > 0 and share["farmers"] > share["youth"] > 0


def test_groups_are_of_the_assumed_size_at_full_scale(small_panel):
    """Treating the small panel as full scale, a village of n households has about n/4/40 groups, at least one."""
    c = assign_channels(small_panel.loans, small_panel.villages, seed=11, scale=1.0)
    per_village = c.assign(v=c["group_code"].str.rsplit("-", n=1).str[0]).groupby("v")["group_code"].nunique()
    size = small_panel.villages["village_code"].value_counts()
    most = np.maximum(1, np.round(size[per_village.index] * 0.25 / 20)).to_numpy()
    assert (per_village.to_numpy() <= most).all()
    members = c.groupby("group_code").size()
    assert (members >= 1).all()


def test_overdue_rates_are_planted_by_programme():
    n = 60_000
    villages = pd.DataFrame({"household_id": [f"H{i}" for i in range(n)], "commune_code": "01840",
                             "village_code": [f"01840-{i % 300:03d}" for i in range(n)]})  # fmt: skip
    loans = pd.DataFrame(
        {"household_id": villages["household_id"], "programme": np.repeat(["poor", "near_poor"], n // 2)}
    )
    rate = {"poor": 0.04, "near_poor": 0.01, "newly_escaped": 0.0}
    c = assign_channels(loans, villages, seed=1, scale=1.0, overdue_rate=rate)
    got = c["overdue"].groupby(loans["programme"]).mean()
    assert got["poor"] == pytest.approx(0.04, abs=0.006) and got["near_poor"] == pytest.approx(0.01, abs=0.003)
    none = assign_channels(loans, villages, seed=1, scale=1.0, overdue_rate=dict.fromkeys(rate, 0.0))
    assert not none["overdue"].any()
    by_group = c.groupby(c["group_code"])["overdue"].mean()
    assert by_group.std() > 0.02  # members share risk: groups differ more than binomial noise alone


def test_synthetic_overdue_share_is_a_few_tenths_of_a_percent(small_panel):
    loans = pd.concat([synth.generate(seed=s, scale=0.02).loans for s in (21, 22, 23)] + [small_panel.loans])
    assert 0.0005 < loans["overdue"].mean() < 0.008


def test_bad_arguments_are_named(small_panel):
    with pytest.raises(ValueError, match="'scale'"):
        assign_channels(small_panel.loans, small_panel.villages, seed=1, scale=0)
    with pytest.raises(ValueError, match="'overdue_rate'"):
        assign_channels(small_panel.loans, small_panel.villages, seed=1, overdue_rate={"poor": 0.1})
