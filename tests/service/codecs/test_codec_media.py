from service import codecs
from service.codecs import CONTENT_TYPE_JSON, CONTENT_TYPE_MULTIPART, CONTENT_TYPE_NPY, media_type


def test_public_names_are_what_all_says() -> None:
    public = {name for name in dir(codecs) if not name.startswith("_")}
    modules = {"encode", "images", "image_fit", "image_open", "instances", "jsonlist"}
    modules |= {"media", "multipart", "npy", "png_gray", "v2", "validate", "budget", "json_body"}
    assert public - modules == set(codecs.__all__)


def test_media_type_drops_parameters_and_case() -> None:
    assert media_type("application/json; charset=utf-8") == CONTENT_TYPE_JSON
    assert media_type("  Application/X-NPY ") == CONTENT_TYPE_NPY
    assert media_type("multipart/form-data; boundary=abc") == CONTENT_TYPE_MULTIPART


def test_media_type_of_missing_header_is_empty() -> None:
    assert media_type(None) == ""
    assert media_type("") == ""
