"""Print the README's configuration table from core.settings.Settings (one source of truth)."""

from __future__ import annotations

import json

from core.settings import Settings


def rows() -> list[tuple[str, str, str]]:
    table = []
    env_names = Settings.env_names()
    for name, field in Settings.model_fields.items():
        env = " / ".join(f"`{c}`" for c in env_names[name])
        default = field.get_default(call_default_factory=True)
        shown = (
            "unset"
            if default is None
            else f"`{json.dumps(default) if isinstance(default, dict) else default}`"
        )
        text = " ".join((field.description or "").split())  # docstrings wrap over lines
        table.append((env, shown, text.replace("|", "\\|")))
    return table


def markdown() -> str:
    lines = ["| variable | default | what |", "|---|---|---|"]
    lines += [f"| {env} | {default} | {text} |" for env, default, text in rows()]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown())
