"""The tables commands reached from the package's own command line."""

from __future__ import annotations

from povanalysis import cli


def test_povanalysis_tables_template_and_check(tmp_path, capsys):
    out = tmp_path / "annex.xlsx"
    assert cli.main(["tables", "template", str(out), "--year", "2023", "--area", "bac_kan"]) == 0
    assert "108 units of Tỉnh Bắc Kạn" in capsys.readouterr().out
    # an empty template has no figures yet: every commune row is reported, the exit status says so
    assert cli.main(["tables", "check", str(out)]) == 1
    assert "a commune row without figures" in capsys.readouterr().out


def test_povanalysis_tables_help_is_the_tables_help(capsys):
    try:
        cli.main(["tables", "--help"])
    except SystemExit as exc:
        assert exc.code == 0
    assert "{template,check}" in capsys.readouterr().out
