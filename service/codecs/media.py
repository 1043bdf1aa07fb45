"""Content types the service accepts, and one way to read a Content-Type header.

Routes dispatch on the bare media type; parameters such as ``charset`` or ``boundary``
do not change which codec applies.
"""

from __future__ import annotations

CONTENT_TYPE_JSON = "application/json"
CONTENT_TYPE_NPY = "application/x-npy"
CONTENT_TYPE_MULTIPART = "multipart/form-data"
#: One image as the whole body (``curl --data-binary @digit.png``), no multipart around it.
CONTENT_TYPE_PNG = "image/png"
CONTENT_TYPE_JPEG = "image/jpeg"
IMAGE_CONTENT_TYPES: tuple[str, ...] = (CONTENT_TYPE_PNG, CONTENT_TYPE_JPEG)

#: Pillow format names accepted for uploads: lossless PNG and the JPEG that phones write.
ACCEPTED_IMAGE_FORMATS: tuple[str, ...] = ("PNG", "JPEG")


def media_type(content_type_header: str | None) -> str:
    """``"Application/JSON; charset=utf-8"`` -> ``"application/json"``; missing -> ``""``."""
    if not content_type_header:
        return ""
    return content_type_header.split(";", 1)[0].strip().lower()
