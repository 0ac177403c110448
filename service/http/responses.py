"""A JSON response built from bytes and raw header pairs (Starlette's Response re-encodes a header dict)."""

from __future__ import annotations

from starlette.responses import Response

_JSON = (b"content-type", b"application/json")


class JsonBytes(Response):
    """`body` is already JSON; `headers` are lower-case (name, value) byte pairs."""

    media_type = "application/json"

    def __init__(self, body: bytes, status_code: int = 200, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        self.status_code = status_code
        self.background = None
        self.body = body
        self.raw_headers = [(b"content-length", str(len(body)).encode()), _JSON, *(headers or ())]
