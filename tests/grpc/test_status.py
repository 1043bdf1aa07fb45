"""Every error the service raises for a client's request has a gRPC code of its own."""

from __future__ import annotations

import grpc

from service import errors
from service.grpc.status import status_code


def _subclasses(cls: type[errors.LayerlensError]) -> list[type[errors.LayerlensError]]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def test_no_client_error_is_internal_or_unknown_over_grpc() -> None:
    client_errors = [cls for cls in _subclasses(errors.LayerlensError) if cls.status_code < 500]
    assert {cls.status_code for cls in client_errors} >= {400, 404, 408, 413, 422, 431, 499}
    for cls in client_errors:
        code = status_code(cls("x"))
        assert code not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN), cls.__name__
