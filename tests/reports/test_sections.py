"""Published key figures and texts: small counts are suppressed as well as small denominators; the
Alkire–Foster headcount is never named as the official poor-household rate."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from povanalysis import config
from povanalysis.common import labels
from povanalysis.data import pipeline
from povanalysis.measure import standards
from povanalysis.reports import prepare
from povanalysis.reports import sections as report


def test_small_counts_never_published(tmp_path, monkeypatch):
    monkeypatch.setenv("POVANALYSIS_DATA_DIR", str(tmp_path))
    pipeline.ensure_demo_data(tmp_path, seed=3, scale=0.01)
    prepare.prepare()
    kf = prepare.key_figures(review_year=2025)
    table = pd.read_parquet(tmp_path / "processed" / "commune_year.parquet")
    now = table[(table["review_year"] == 2025) & ~table["suppressed"]]
    small = now[(now["poor"] > 0) & (now["poor"] < config.MIN_CELL)]
    assert len(small) > 0  # the case exists in the data
    shown = kf.set_index("commune_code").loc[small["commune_code"], "poor"]
    assert shown.isna().all()
    # a zero is published where its households are (the rule's "0 of 300"); nothing from 1 to the limit
    for column in ("poor", "near_poor"):
        values = kf[column].dropna()
        assert ((values == 0) | (values >= config.MIN_CELL)).all()
    marks = prepare.key_figures(review_year=2025, marks=True).set_index("commune_code")
    assert (marks.loc[small["commune_code"], "poor"] == f"< {config.MIN_CELL}").all()


def _profile_context(year: int = 2024) -> prepare.CommuneContext:
    std = standards.get_standard("2022-2025")
    rows = [("H", None, 0.0629), ("A", None, 0.4), ("M0", None, 0.02516)]
    rows += [("pctb", column, 100 / len(std.columns)) for column in std.columns]
    af = pd.DataFrame(rows, columns=["measure", "indicator", "value"]).assign(
        review_year=year, standard=std.key, k=std.k, n=400, suppressed=False
    )
    empty = pd.DataFrame()
    return prepare.CommuneContext(
        "01840",
        year,
        {"name": "Phường Đức Xuân"},
        empty,
        empty,
        empty,
        af,
        empty,
        empty,
        sections={},
        min_cell=10,
        synthetic=True,
    )


# Names of the official poor-household rate, which no label of the Alkire–Foster headcount may take.
OFFICIAL_NAMES = ("tỷ lệ nghèo đa chiều", "tỷ lệ hộ nghèo", "poor-household rate", "poverty rate")


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("key", sorted(standards.STANDARDS))
def test_no_published_label_of_h_names_the_official_rate(lang, key):
    std = standards.get_standard(key)
    n = len(std.indicators)
    names = [labels.label("H", lang), labels.af_label("H", lang, k=std.k, n_indicators=n)]
    names.append(labels.glossary(std, lang).splitlines()[1].split("**")[1])  # the glossary's entry for H
    for name in names:
        assert "H" in name and ("AF" in name if lang == "vi" else "Alkire–Foster" in name), name
        assert not any(wrong in name.lower() for wrong in OFFICIAL_NAMES), name
    assert names[1] == names[2] and names[1].endswith(f"k = {std.min_deprivations}/{n})")
    assert labels.label("poor_rate", lang) == ("Tỷ lệ hộ nghèo" if lang == "vi" else "Poor-household rate")


def test_af_labels_interpolate_the_cutoff_of_the_table():
    af = pd.DataFrame(
        {
            "measure": ["M0"] + ["hd"] * 4,
            "indicator": [None, "a", "b", "c", "d"],
            "value": [0.1, 0.2, 0.3, 0.1, 0.4],
            "k": 0.5,
        }
    )
    assert labels.af_label("M0", "vi", **labels.af_cutoff(af)) == "Chỉ số M0 (AF, k = 2/4)"
    assert labels.af_label("A", "en", **labels.af_cutoff(af)) == "Alkire–Foster intensity A (k = 2/4)"
    assert labels.af_cutoff(af.assign(k=[0.5, 0.25, 0.25, 0.25, 0.25])) == {"k": None, "n_indicators": None}
    with pytest.raises(ValueError, match=r"measure must be one of .* got 'FGT0'"):
        labels.af_label("FGT0")


def test_glossary_tells_the_official_rate_from_the_alkire_foster_headcount():
    std = standards.get_standard("2022-2025")
    vi, en = labels.glossary(std, "vi"), labels.glossary(std, "en")
    assert vi.splitlines()[0].startswith("- **Tỷ lệ hộ nghèo** (số liệu chính thức)")
    assert (
        "**và** thiếu hụt từ 3 trong 12 chỉ số trở lên, theo chuẩn nghèo giai đoạn 2022–2025 (Nghị định 07/2021/NĐ-CP)"
        in vi
    )
    assert "tỷ lệ hộ thiếu hụt từ 3 trong 12 chỉ số trở lên, **bất kể thu nhập**" in vi
    assert "H **không phải là tỷ lệ hộ nghèo**" in vi and "= H × A" in vi
    assert "deprived in at least 3 of the 12 indicators, **whatever their income**" in en
    assert "Decree 07/2021/ND-CP" in en and "H **is not the poverty rate**" in en
    # another cutoff is interpolated, never typed
    assert "(AF, k = 4/12)" in labels.glossary(std, "vi", k=4 / 12)
    assert "thiếu hụt từ 4 trong 12 chỉ số trở lên" in labels.glossary(std, "vi", k=4 / 12)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_commune_profile_names_h_as_the_alkire_foster_headcount(lang):
    text = report.profile_text(_profile_context(), lang=lang).data
    expected = {
        "vi": "Năm 2024: tỷ lệ hộ thiếu hụt đa chiều H (AF, k = 3/12) = 6,29%",
        "en": "In 2024: Alkire–Foster multidimensional headcount H (k = 3/12) = 6.29%",
    }[lang]
    assert expected in text
    assert text.endswith(labels.glossary(standards.get_standard("2022-2025"), lang))
    assert "tỷ lệ nghèo đa chiều" not in text.lower() and "multidimensionally poor" not in text


def test_names_moved_to_prepare_still_import_with_a_warning():
    with pytest.warns(DeprecationWarning, match="moved to povanalysis.reports.prepare.commune_context"):
        assert report.commune_context is prepare.commune_context
    with pytest.raises(AttributeError, match="has no attribute 'FAIL_ENV'"):
        getattr(report, "FAIL_ENV")  # noqa: B009


def test_an_indicator_under_the_limit_is_left_out_with_the_next_smallest():
    """hdk × 400 households is a count: 3 deprived poor households would be printed as 0,8%."""
    ctx = _profile_context()
    std = standards.get_standard("2022-2025")
    counts = [3, 12, 40, 0, *([25] * (len(std.columns) - 4))]
    hdk = pd.DataFrame({"measure": "hdk", "indicator": list(std.columns), "value": [c / 400 for c in counts]})
    af = pd.concat([ctx.af, hdk.assign(review_year=2024, standard=std.key, k=std.k, n=400, suppressed=False)])
    ctx = dataclasses.replace(ctx, af=af.reset_index(drop=True))
    bars = report.profile_figure(ctx, lang="en").data[0]
    assert len(bars.y) == len(std.columns) - 2  # the 3, and the 12 (else M0 would give the 3 back); the 0 stays
    shown = set(report._af_rows(ctx, 2024).query("measure == 'pctb'")["indicator"])
    assert shown == set(std.columns) - set(std.columns[:2])
    # a review whose multidimensionally poor households are under the limit is not published
    few = af.assign(value=np.where(af["measure"] == "H", 5 / 400, af["value"]))
    assert report.profile_figure(dataclasses.replace(ctx, af=few), lang="en") is None
    # every indicator under the limit while H is published: the text stands, no chart of hidden bars
    thin = ctx.af.assign(value=np.where(ctx.af["measure"] == "hdk", 4 / 400, ctx.af["value"]))
    thin_ctx = dataclasses.replace(ctx, af=thin)
    assert not (report._af_rows(thin_ctx, 2024)["measure"] == "hdk").any()
    assert report.profile_figure(thin_ctx, lang="en") is None
    assert "H (k = 3/12) = 6.29%" in report.profile_text(thin_ctx, lang="en").data


@pytest.mark.parametrize(
    ("cell", "vi", "en"),
    [
        ("< 10", "dưới 10", "fewer than 10"),
        ("< 5%", "dưới 5%", "under 5%"),
        ("–", None, None),
        ("1.234", "1.234", "1.234"),
    ],
)
def test_marks_read_as_words_in_sentences(cell, vi, en):
    assert report._words(cell, "vi") == vi and report._words(cell, "en") == en


def test_the_fan_chart_history_on_the_new_standard_is_named_and_drawn_beside_the_published_rates(prepared):
    ctx = prepare.commune_context("02071", review_year=2025)
    assert ctx.extra["projection"]["projection"].standard != ctx.af["standard"].iloc[-1]
    assert "lịch sử được quy đổi về chuẩn mới" in report.path_text(ctx, lang="vi").data
    names = [t.name for t in report.path_figure(ctx, lang="vi").data]
    assert any("đã công bố" in n for n in names)
    # a history point whose poor households are under the limit is not drawn
    fig = report.path_figure(ctx, lang="en")
    projection = ctx.extra["projection"]["projection"]
    obs = projection.observed[projection.observed["commune_code"] == "02071"]
    small = set(obs.loc[(obs["rate"] * obs["households"]).round() < ctx.min_cell, "review_year"])
    history = next(t for t in fig.data if t.name and "rebased" in t.name.lower())
    assert not small & set(history.x)


def test_the_rate_chart_draws_the_commune_first_and_leaves_the_legend_to_the_figure(prepared):
    ctx = prepare.commune_context("02071", review_year=2025)
    fig = report.rate_figure(ctx, rate="poor_rate", lang="vi")
    lines = [t for t in fig.data if t.mode and "lines" in t.mode]
    assert lines[0].name == ctx.name and lines[0].line.width > max(t.line.width or 0 for t in lines[1:])
    assert fig.layout.legend.y != -0.2
    # a commune whose every rate is hidden has nothing to focus: the chart still draws the areas
    hidden = dataclasses.replace(ctx, rates=ctx.rates.assign(suppressed=True))
    names = [t.name for t in report.rate_figure(hidden, rate="poor_rate", lang="vi").data if t.name]
    assert ctx.name not in names and names


def test_the_fan_chart_is_always_given_the_published_rates(prepared, monkeypatch):
    seen = []
    real = report.plot_fan_chart
    monkeypatch.setattr(report, "plot_fan_chart", lambda *a, **k: seen.append(k.get("recorded")) or real(*a, **k))
    monkeypatch.setattr(report, "_rebased", lambda ctx, store: False)  # a history that is not restated
    ctx = prepare.commune_context("02071", review_year=2025)
    report.path_figure(ctx, lang="vi")
    assert seen and seen[0] is not None and set(seen[0]["review_year"]) == set(ctx.rates["review_year"])
