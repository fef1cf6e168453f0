"""The commune report's lasting exits and village table: prepared once, read per commune, suppressed, no identifier."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from povanalysis.data import pipeline
from povanalysis.goals.exits import lasting_exits
from povanalysis.reports import aggregate, batch, grassroots, prepare, published, sections
from povanalysis.reports.disclosure import Layout, attack
from povanalysis.reports.prose.exits import publish_exits

CODE = "02071"  # 11 exits in 2024 in the small data (seed 20240, scale 0.02), 10 newly escaped in 2025


@pytest.fixture(scope="module")
def village_root(tmp_path_factory):
    """A private copy of the small synthetic data, with villages (the shared test data may predate them)."""
    root = tmp_path_factory.mktemp("h-villages")
    with pytest.MonkeyPatch.context() as mp:
        pipeline.ensure_demo_data(root, seed=20240, scale=0.02)
        mp.setenv("POVANALYSIS_DATA_DIR", str(root))
        mp.delenv("POVANALYSIS_BOUNDARIES", raising=False)
        mp.delenv(prepare.CONTEXT_ENV, raising=False)
        frozen = prepare.code_digest()
        mp.setattr(prepare, "code_digest", lambda: frozen)
        prepare.ensure_prepared()
        assert pipeline.load_villages() is not None
        yield root


def _tables() -> dict:
    return prepare.shared_tables()[0]


def test_exits_read_back_per_commune_are_those_computed_on_the_panel(village_root):
    classified = pipeline.load_classified()
    full = lasting_exits(classified, levels=["commune"], min_cell=10)
    stored = _tables()["exits"]
    for code in (CODE, "01840", "05665"):
        back = grassroots.read_exits(stored[stored["commune_code"] == code], min_cell=10)
        pd.testing.assert_frame_equal(back.unit("commune", code), full.unit("commune", code))
    # what the 2023 report reads: no review after 2023, no follow-up it gives
    early = grassroots.read_exits(stored[stored["commune_code"] == CODE], min_cell=10, review_year=2023)
    assert early.review_years[-1] == 2023
    reached = early.counts["exit_year"].map({y: i for i, y in enumerate(early.review_years)}) + early.counts["horizon"]
    assert reached.max() == len(early.review_years) - 1


def test_exits_section_prints_the_hand_counted_exits(village_root):
    hh = pipeline.load_classified()
    hh = hh[hh["commune_code"] == CODE]
    before = hh[hh["review_year"] == 2023].set_index("household_id")["poverty_class"]
    after = hh[hh["review_year"] == 2024].set_index("household_id")["poverty_class"]
    both = before.index.intersection(after.index)
    exits = int(((before[both] == "poor") & (after[both] != "poor")).sum())
    assert exits == 11  # the count the fixture's comment states, from the panel by hand
    ctx = prepare.commune_context(CODE, review_year=2025)
    vi = sections.section("exits", ctx, lang="vi").data
    en = sections.section("exits", ctx, lang="en").data
    assert vi.startswith("## Thoát nghèo bền vững\n\nNăm 2024 có 11 hộ thoát nghèo; ở kỳ rà soát 2025, ")
    assert en.startswith("## Lasting exits from poverty\n\nIn 2024, 11 households left poverty; at the 2025 review ")
    # 3 of the 11 did not hold: under the limit, so the 8 that held are not printed either
    assert "dưới 10" in vi and " 8 hộ" not in vi
    table = sections.exits_table(ctx, lang="vi").data
    assert "<td>11</td>" in table and "&lt; 10" in table
    fig = sections.exits_figure(ctx, lang="en")
    assert [float(v) for v in fig.data[0].y if v == 11] == [11.0]


def _exits_attack_frame(ex, code: str, k: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    cells = publish_exits(ex, "commune", code, lang="vi")
    cells = cells[cells["horizon"] == k]
    shown = cells[["exit_year", "exits", "held", "not_held"]].reset_index(drop=True)
    # a year of exits under the limit publishes only "< 10" (its "–" parts are not "at least the limit",
    # as the attacker reads them): such a row gives nothing but that mark, and no row is tied to another
    keep = ~shown["exits"].str.startswith("< ")
    shown = shown[keep].reset_index(drop=True)
    unit = ex.unit("commune", code)
    unit = unit[unit["horizon"] == k].reset_index(drop=True)[keep.to_numpy()].reset_index(drop=True)
    truth = pd.DataFrame(
        {
            "exit_year": unit["exit_year"],
            "exits": unit["exits"],
            "held": unit["held"],
            "not_held": unit["exits"] - unit["held"],
        }
    )
    return shown, truth


def test_no_small_exit_count_can_be_worked_out(village_root):
    layout = Layout(["exit_year"], ["held", "not_held"], denominator="exits", parts={"exits": ("held", "not_held")})
    stored = _tables()["exits"]
    tried = 0
    for code in sorted(stored["commune_code"].unique()):
        ex = grassroots.read_exits(stored[stored["commune_code"] == code], min_cell=10)
        for k in (1, 2):
            shown, truth = _exits_attack_frame(ex, code, k)
            if shown.empty:
                continue
            found = attack(shown, layout, min_cell=10, truth=truth)
            assert found.recovered.empty and found.exposed.empty, (code, k, found.recovered, found.exposed)
            tried += 1
    assert tried >= 10  # commune-horizons with 10 exits or more in the small data


def test_village_table_suppresses_small_counts_and_nothing_can_be_worked_out(village_root):
    villages = _tables()["villages"]
    assert (villages["village_code"] != published.ALL).any()
    p = published.restore(villages, grassroots.VILLAGES, min_cell=10)
    shown = p.display("vi")
    truth = villages[[*grassroots.VILLAGES.keys, "households", "newly_escaped", "at_risk", "not_at_risk"]]
    # every commune's villages, the communes and the province at once; the page leaves out the households
    # not at risk, which the attacker is given anyway (the newly escaped minus those at risk)
    found = attack(shown, grassroots.VILLAGES, min_cell=10, truth=truth)
    assert found.recovered.empty and found.exposed.empty
    ctx = prepare.commune_context(CODE, review_year=2025)
    html = sections.village_table(ctx, lang="vi").data
    cells = re.findall(r"<td>([^<]*)</td>", html)
    numbers = [int(c.replace(".", "")) for c in cells if re.fullmatch(r"[\d.]+", c)]
    assert "&lt; 10" in html and not [n for n in numbers if 0 < n < 10]
    assert "Cả xã, phường" in html and re.search(r"<td>(Tổ dân phố|Thôn|Xóm|Bản) ", html)
    text = sections.section("villages", ctx, lang="vi").data
    assert text.startswith("## Hộ mới thoát nghèo theo thôn, tổ dân phố\n\n") and "không công bố" in text


def test_the_risk_section_and_the_village_total_are_one_decision(village_root):
    tables = _tables()
    risk = tables["risk"].set_index("commune_code")
    total = tables["villages"]
    total = total[(total["village_code"] == published.ALL) & (total["commune_code"] != published.PROVINCE)]
    total = total.set_index("commune_code").loc[risk.index]
    assert (risk["households"] == total["newly_escaped"]).all() and (risk["at_risk"] == total["at_risk"]).all()
    assert (risk["at_risk__hidden"].astype(bool) == total["at_risk__hidden"].astype(bool)).all()
    assert (risk["households__hidden"].astype(bool) == total["newly_escaped__hidden"].astype(bool)).all()


def test_without_villages_the_section_says_so_in_one_sentence(village_root):
    classified, loans = pipeline.load_classified(), pipeline.load_loans()
    flat = grassroots.village_tables(classified, loans, None, min_cell=10)
    assert (flat["village_code"] == published.ALL).all() and set(flat["commune_code"]) >= {CODE, published.PROVINCE}
    ctx = prepare.commune_context(CODE, review_year=2025)
    mine = flat[flat["commune_code"] == CODE]
    bare = dataclasses.replace(ctx, extra={**ctx.extra, "villages": mine})
    for lang, sentence in (
        ("vi", "Số liệu rà soát không ghi thôn, tổ dân phố của hộ, nên không lập được bảng theo thôn."),
        ("en", "The review records do not carry the households' villages, so there is no table by village."),
    ):
        text = sections.villages_text(bare, lang=lang).data
        assert text == sentence and text.count(".") == 1
        assert sections.village_table(bare, lang=lang) is None
    # a report of an earlier review: the table is of the review the risk is assessed at
    early = prepare.commune_context(CODE, review_year=2024)
    assert "2025" in sections.villages_text(early, lang="vi").data and sections.village_table(early) is None


def test_on_published_counts_the_two_sections_need_household_records(village_root):
    for key in ("exits", "villages"):
        assert key in aggregate.HOUSEHOLD_SECTIONS
        text = aggregate.household_sentence(key, "vi")
        assert text.count(".") == 1 and "không có trong bảng kết quả rà soát công bố theo xã" in text
    ctx = prepare.commune_context(CODE, review_year=2025)
    assert aggregate.exits_table(ctx) is None and aggregate.village_table(ctx) is None
    assert aggregate.exits_figure(ctx) is None


def test_no_household_identifier_reaches_the_page(village_root, tmp_path):
    out = tmp_path / "site"
    result = batch.run_batch(out, communes=[CODE], workers=1, province=False, index=False, progress=False)
    assert result.ok, result.summary()
    page = next(Path(out, "communes").glob(f"{CODE}-*.html")).read_text(encoding="utf-8")
    assert "Thoát nghèo bền vững" in page and "Cả xã, phường" in page
    classified = pipeline.load_classified()
    ids = classified.loc[classified["commune_code"] == CODE, "household_id"].astype(str).unique()
    villages = pipeline.load_villages()
    ids = np.union1d(ids, villages.loc[villages["commune_code"] == CODE, "household_id"].astype(str))
    assert len(ids) > 50
    leaked = [h for h in ids if h in page]
    assert not leaked, leaked[:5]


@pytest.mark.parametrize("payload", ["<img src=x onerror=alert(1)>", "**Xã** _Một_ [x](y)", "Xã A & B"])
def test_a_hostile_unit_name_shows_as_typed_in_the_exits_chart(village_root, monkeypatch, payload):
    from povanalysis.common.safe import escape_html
    from povanalysis.data import registry

    units = registry.units().copy()
    units.loc[units["commune_code"] == CODE, "name"] = payload
    monkeypatch.setattr(registry, "units", lambda *args, **kwargs: units)
    ctx = prepare.commune_context(CODE, review_year=2025)
    ctx = dataclasses.replace(ctx, unit={**ctx.unit, "name": payload})
    title = sections.exits_figure(ctx, lang="vi").layout.title.text
    assert title.startswith(escape_html(payload) + ": ")
    assert "\\" not in title and (payload == escape_html(payload) or payload not in title)


def test_the_prepared_tables_hold_no_household_identifier(village_root):
    manifest = prepare.read_manifest()
    assert manifest["sections"]["exits"] and manifest["sections"]["villages"]
    ids = set(pipeline.load_classified()["household_id"].astype(str))
    for name in ("exits", "villages"):
        table = pd.read_parquet(prepare.context_dir() / f"{name}.parquet")
        assert "household_id" not in table.columns
        text = table.select_dtypes(exclude="number").astype(str)
        assert not (set(np.unique(text.to_numpy())) & ids), name
