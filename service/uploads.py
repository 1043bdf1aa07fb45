"""Image uploads read from a body already in memory: multipart files or one raw image.

Shared by the FastAPI routes (``service.routes.body``) and the fast lane, so both take the
same bodies and refuse bad ones with the same errors. Nothing is spooled to files: the
body's size is already bounded by ``max_body_bytes`` when this runs.
"""

from __future__ import annotations

from service import codecs
from service.dataplane import Payload
from service.errors import InvalidInput

#: Most non-file form fields in one multipart body (interpolate sends a handful).
MAX_FORM_FIELDS = 32
#: What a raw image body is called in error messages (it has no file name).
RAW_IMAGE_NAME = ""

#: Content types read here rather than as JSON or .npy.
UPLOAD_KINDS: tuple[str, ...] = (codecs.CONTENT_TYPE_MULTIPART, *codecs.IMAGE_CONTENT_TYPES)


def upload_payload(
    kind: str, content_type: str | None, body: bytes, *, max_files: int
) -> Payload | None:
    """The images of a multipart or raw ``image/png`` / ``image/jpeg`` body; None for
    other kinds. A raw body is one image, whatever format its bytes turn out to be (the
    decoder checks that from the header, as for a file part)."""
    if kind in codecs.IMAGE_CONTENT_TYPES:
        if not body:
            raise InvalidInput(f"the {kind} body is empty: send the image's bytes")
        return Payload(kind="files", size=len(body), files=[(RAW_IMAGE_NAME, body)])
    if kind != codecs.CONTENT_TYPE_MULTIPART:
        return None
    form = codecs.parse_form(body, content_type, max_files=max_files, max_fields=MAX_FORM_FIELDS)
    if not form.files:
        raise InvalidInput("the multipart body holds no files: upload images as 'files'")
    return Payload(
        kind="files", size=len(body), files=[(name, data) for _key, name, data in form.files]
    )
