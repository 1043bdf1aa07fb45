"""A multipart/form-data body already in memory -> its files and fields, as bytes.

Starlette's form parser streams every file part into a ``SpooledTemporaryFile`` wrapped in
an ``UploadFile`` whose reads go through the thread pool: right for large uploads of
unknown size, but the service has read the whole body already (its size is limited by
``max_body_bytes``), so for a 28x28 PNG the spooling and the hand-offs cost many times
the decoding. Here a body in the usual shape is cut at its delimiters, and anything else
goes through the same parser Starlette uses (python-multipart), once, over the bytes; a
test checks that both read generated bodies alike. The same limits apply as with
``request.form``: at most ``max_files`` files and ``max_fields`` plain fields, each
refused with a 400 that says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from python_multipart.multipart import (
    FormParserError,
    MultipartParseError,
    MultipartParser,
    parse_options_header,
)

from service.errors import InvalidInput


@dataclass
class FormParts:
    """(field name, file name, bytes) of every file part, and the plain fields (UTF-8)."""

    files: list[tuple[str, str, bytes]] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)


def boundary_of(content_type: str | None) -> bytes:
    _, params = parse_options_header(content_type or "")
    boundary = params.get(b"boundary")
    if not boundary:
        raise InvalidInput("malformed multipart body: the Content-Type names no boundary")
    return boundary


def parse_form(
    body: bytes, content_type: str | None, *, max_files: int, max_fields: int
) -> FormParts:
    """Every part of ``body``; 400 for a malformed body or too many files or fields.

    A body in the shape every client writes (delimiters, headers, data, the closing
    delimiter) is cut at its delimiters with ``bytes.split``; python-multipart's state
    machine, which costs a few microseconds per header byte in Python, reads the rest."""
    boundary = boundary_of(content_type)
    parts = _split(body, boundary)
    if parts is None:
        parts = _parse(body, boundary)
    form = FormParts()
    for headers, data in parts:
        _add_part(form, headers, data, max_files=max_files, max_fields=max_fields)
    return form


def _add_part(
    form: FormParts, headers: dict[bytes, bytes], data: bytes, *, max_files: int, max_fields: int
) -> None:
    _, options = parse_options_header(headers.get(b"content-disposition", b""))
    name = options.get(b"name")
    if name is None:
        raise InvalidInput(
            'malformed multipart body: a part\'s Content-Disposition names no "name"'
        )
    key = name.decode("utf-8", "replace")
    if b"filename" in options:
        if len(form.files) >= max_files:
            raise InvalidInput(f"Too many files. Maximum number of files is {max_files}.")
        form.files.append((key, options[b"filename"].decode("utf-8", "replace"), data))
    else:
        if len(form.fields) >= max_fields:
            raise InvalidInput(f"Too many fields. Maximum number of fields is {max_fields}.")
        form.fields[key] = data.decode("utf-8", "replace")


Part = tuple[dict[bytes, bytes], bytes]


def _split(body: bytes, boundary: bytes) -> list[Part] | None:
    """The parts of a plainly written body; None for anything else (the parser decides)."""
    opening = b"--" + boundary + b"\r\n"
    if not body.startswith(opening):
        return None
    chunks = body[len(opening) - 2 :].split(b"\r\n--" + boundary)
    last = chunks.pop()
    if not last.startswith(b"--") or not chunks:
        return None
    parts: list[Part] = []
    for chunk in chunks:
        if not chunk.startswith(b"\r\n"):
            return None
        end = chunk.find(b"\r\n\r\n")
        if end < 0:
            return None
        headers: dict[bytes, bytes] = {}
        for line in chunk[2:end].split(b"\r\n"):
            name, colon, value = line.partition(b":")
            if not colon or not name or name != name.strip():
                return None
            headers[name.lower()] = value.strip()
        parts.append((headers, chunk[end + 4 :]))
    return parts


def _parse(body: bytes, boundary: bytes) -> list[Part]:
    """Any well-formed body, through python-multipart (as Starlette reads forms)."""
    parts: list[Part] = []
    headers: dict[bytes, bytes] = {}
    name_value: list[bytes] = [b"", b""]
    chunks: list[bytes] = []

    def on_part_begin() -> None:
        headers.clear()
        chunks.clear()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        name_value[0] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        name_value[1] += data[start:end]

    def on_header_end() -> None:
        headers[name_value[0].lower()] = name_value[1]
        name_value[0] = name_value[1] = b""

    def on_part_data(data: bytes, start: int, end: int) -> None:
        chunks.append(data[start:end])

    def on_part_end() -> None:
        parts.append((dict(headers), b"".join(chunks)))

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        parser.write(body)
        parser.finalize()
    except (MultipartParseError, FormParserError) as exc:
        raise InvalidInput(f"malformed multipart body: {exc}") from None
    return parts
