"""Rich reads square brackets as style tags: no help text or table cell may lose them."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer.main
from rich.text import Text
from typer.testing import CliRunner

from clients import Client
from clients.cli import app
from tests.clients.helpers import write_png

COMMAND = typer.main.get_command(app)


def _help_texts() -> list[tuple[str, str]]:
    texts = [("layerlens", COMMAND.help or "")]
    for name, command in COMMAND.commands.items():  # type: ignore[attr-defined]
        texts.append((name, command.help or ""))
        texts += [(f"{name} {p.name}", p.help) for p in command.params if getattr(p, "help", None)]
    return texts


@pytest.mark.parametrize(("where", "text"), _help_texts())
def test_help_text_survives_rich_markup(where: str, text: str) -> None:
    assert Text.from_markup(text).plain == text.replace("\\[", "["), where


def test_boundary_help_names_its_range() -> None:
    listing = CliRunner().invoke(app, ["--help"]).stdout
    assert "grid from LOW to HIGH" in " ".join(listing.split())


def test_table_cells_keep_square_brackets(live_server, tmp_path: Path, monkeypatch) -> None:
    with Client(live_server.url) as client:
        write_png(client, tmp_path / "digit [two].png", "mnist-test:1")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["--url", live_server.url, "predict", "digit [two].png"])
    assert result.exit_code == 0, result.output
    assert "digit [two].png" in result.stdout
