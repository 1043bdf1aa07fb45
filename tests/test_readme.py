"""The README's promises that code can check."""

from __future__ import annotations

from pathlib import Path

from scripts.settings_table import rows

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_configuration_table() -> None:
    for env, _default, _text in rows():
        assert f"| {env} |" in README, f"README's configuration table lacks {env}"


def test_the_two_quick_start_commands_are_make_targets() -> None:
    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text(encoding="utf-8")
    assert "make run" in README and "make test" in README
    assert "\nrun:" in makefile and "\ntest:" in makefile
