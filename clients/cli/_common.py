"""What every command shares: the client built from the global options, error reporting and
JSON output (the shared options are in ``clients.cli.options``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import typer
from PIL import Image, UnidentifiedImageError
from rich.console import Console
from rich.text import Text

from clients import Client
from clients._http import DEFAULT_RETRIES, DEFAULT_TIMEOUT_S
from clients.errors import APIError, InputError, LayerlensError, ServiceUnavailableError


@dataclass
class State:
    """Set by the top-level callback; commands open the client only when they run."""

    url: str | None = None
    timeout: float = DEFAULT_TIMEOUT_S
    retries: int = DEFAULT_RETRIES

    def client(self) -> Client:
        return Client(self.url, timeout=self.timeout, retries=self.retries)


def console() -> Console:
    """Markup off: labels, file names and server messages may hold square brackets, which
    Rich would otherwise read as style tags and drop. Styles go in as ``Text`` instead."""
    return Console(markup=False)


def err_console() -> Console:
    return Console(stderr=True, markup=False)


def error_line(prefix: str, message: object) -> Text:
    return Text.assemble((prefix, "red"), " ", str(message))


@contextmanager
def reporting_errors() -> Iterator[None]:
    """Turn SDK errors into one red line on stderr and exit status 1 (2 for bad input)."""
    try:
        yield
    except InputError as exc:
        err_console().print(error_line("error:", exc), highlight=False)
        raise typer.Exit(2) from exc
    except APIError as exc:
        if is_overloaded(exc):
            line = error_line("error:", overloaded_line(exc))
        else:
            code = f" ({exc.code})" if exc.code else ""
            line = error_line(f"error {exc.status_code}{code}:", exc.message)
        err_console().print(line, highlight=False)
        raise typer.Exit(1) from exc
    except LayerlensError as exc:
        err_console().print(error_line("error:", exc), highlight=False)
        raise typer.Exit(1) from exc


def is_overloaded(exc: APIError) -> bool:
    """A refusal for load: the service's (or its edge's) 503 `overloaded`, or a 503 from a
    proxy without the service's error shape that says when to come back."""
    return isinstance(exc, ServiceUnavailableError) and (
        exc.code == "overloaded" or (exc.code is None and exc.retry_after_s is not None)
    )


def overloaded_line(exc: APIError) -> str:
    """The one line a refused request gets: what happened and when to come back (the
    server's Retry-After, which the SDK's own retries already honoured)."""
    wait = exc.retry_after_s if exc.retry_after_s is not None else 1.0
    return f"the service is overloaded, retry in {wait:g} s"


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, default=_plain))


def state_of(ctx: typer.Context) -> State:
    state = ctx.obj
    return state if isinstance(state, State) else State()


@contextmanager
def connected(ctx: typer.Context) -> Iterator[Client]:
    """The client for this run of the command, closed after it; SDK errors reported."""
    with reporting_errors(), state_of(ctx).client() as client:
        yield client


def wrote(path: Path) -> None:
    err_console().print(f"wrote {path}", highlight=False)


def read_picture(name: str, *, grey: bool) -> np.ndarray:
    """An image file's pixels as given, for a plot: grey when asked (the model's inputs are
    2-D) or when the file is grey, else RGB."""
    try:
        with Image.open(name) as image:
            grey = grey or image.mode in ("L", "LA", "I", "F")
            return np.asarray(image.convert("L" if grey else "RGB"))
    except (OSError, UnidentifiedImageError) as exc:
        raise InputError(f"cannot read image file {name!r} to plot: {exc}") from exc
