"""Input codecs: one module per content type, each ending in the same validation.

Every decoder returns a C-contiguous float32 array shaped ``(N, *spec.shape)`` inside the
manifest's ``value_range`` and raises only ``service.errors`` classes (400 InvalidInput /
InvalidImage, 413 PayloadTooLarge, 415 UnsupportedMediaType) with messages that name what
is wrong. Decoding is CPU work: call these from a worker thread, not the event loop.
"""

from service.codecs.images import FITS, Fit, decode_images
from service.codecs.instances import decode_json_instances
from service.codecs.media import (
    ACCEPTED_IMAGE_FORMATS,
    CONTENT_TYPE_JPEG,
    CONTENT_TYPE_JSON,
    CONTENT_TYPE_MULTIPART,
    CONTENT_TYPE_NPY,
    CONTENT_TYPE_PNG,
    IMAGE_CONTENT_TYPES,
    media_type,
)
from service.codecs.multipart import FormParts, parse_form
from service.codecs.npy import decode_npy
from service.codecs.png_gray import inline_images
from service.codecs.v2 import V2_DATATYPES, decode_v2_input
from service.codecs.validate import SCALES, Scale

__all__ = [
    "ACCEPTED_IMAGE_FORMATS",
    "CONTENT_TYPE_JPEG",
    "CONTENT_TYPE_JSON",
    "CONTENT_TYPE_MULTIPART",
    "CONTENT_TYPE_NPY",
    "CONTENT_TYPE_PNG",
    "FITS",
    "IMAGE_CONTENT_TYPES",
    "SCALES",
    "V2_DATATYPES",
    "Fit",
    "FormParts",
    "Scale",
    "decode_images",
    "decode_json_instances",
    "decode_npy",
    "decode_v2_input",
    "inline_images",
    "media_type",
    "parse_form",
]
