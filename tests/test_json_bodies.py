"""Client bodies are parsed by orjson and validated from the objects it makes; anything it refuses or
pydantic rejects takes the careful way (the standard library's parser, pydantic's JSON mode). Both ways
must give the same values, and a client must read the same error either way."""

from __future__ import annotations

import orjson
import pytest
from pydantic import ValidationError

from service.http.errors import ApiError
from service.http.json_bodies import _validate_carefully, body_error, parse
from service.sitecore.body import CallFlowBody, PlainBody, parse_body
from service.sitecore.events import SitecoreEvent

GOOD = [
    b'{"clientKey":"k","friendlyId":"a","params":{"n":1,"x":[1.5,"s",null,true]},"variants":["v1"],"timeout":0}',
    b'{"clientKey":"k","params":{"big":100000000000000000000000000000,"i64":9223372036854775807}}',
    b'{"clientKey":"k","params":{"u64":18446744073709551615,"neg":-9223372036854775809}}',
    b'{"clientKey":"k","params":{"huge":1' + b"0" * 400 + b"}}",
    b'{"identifiers":[{"id":"a@b.c","provider":"email"}],"timeout":5.0,"context":{"utm":{}}}',
    b'{"clientKey":"k","clientKey":"last wins","params":{"s":"\\u00e9\\n"}}',
    b"{}",
    b'{"n": NaN, "clientKey": "k"}',
]
BAD = [
    b'{"params": [1]}',
    b'{"friendlyId": 5}',
    b"[1]",
    b'"text"',
    b'{"timeout": -1}',
    b'{"timeout": 1.5}',
    b'{"identifiers": "x"}',
    b'{"identifiers": [{"id": 1}]}',
    b'{"variants": [1]}',
    b'{"clientKey": "k"',
    b'{"s": "\\ud800"}',
    b"\xff\xfe",
    b"",
]


@pytest.mark.parametrize("raw", GOOD)
def test_a_good_body_reads_the_same_either_way(raw: bytes) -> None:
    assert parse(CallFlowBody, raw).model_dump() == _validate_carefully(CallFlowBody, raw).model_dump()


@pytest.mark.parametrize("raw", BAD)
def test_a_bad_body_is_told_the_same_error_either_way(raw: bytes) -> None:
    with pytest.raises(ApiError) as fast:
        parse(CallFlowBody, raw)
    with pytest.raises(ValidationError) as careful:
        _validate_carefully(CallFlowBody, raw)
    told = body_error(careful.value)
    assert fast.value.status == 400
    assert (fast.value.developer_message, fast.value.field) == (told.developer_message, told.field)


def test_an_event_body_with_a_big_number_is_widened() -> None:
    raw = b'{"channel":"WEB","type":"VIEW","pos":"p","browser_id":"b","ext":{"n":' + b"9" * 30 + b"}}"
    event = parse(SitecoreEvent, raw)
    assert event.model_dump() == _validate_carefully(SitecoreEvent, raw).model_dump()


FIELDS = ["clientKey", "friendlyId", "channel", "currencyCode", "browserId", "email", "guestRef", "params",
          "variants", "timeout", "context", "identifiers", "unknown"]  # fmt: skip
VALUES: list[object] = [None, "s", "", 5, 0, -1, 2.0, 2.5, True, {}, {"a": {"b": 1}}, [], ["v1", "v2"], ["v", 1],
                        [{"id": "i", "provider": "email"}], {"id": "i"}, {"browserId": "legacy"}, "5"]  # fmt: skip


def _fields(body: object) -> dict[str, tuple[type, object]]:
    names = [f for f in CallFlowBody.model_fields if f != "identifiers"]
    return {name: (type(getattr(body, name)), getattr(body, name)) for name in names}  # True == 1: types too


@pytest.mark.parametrize("field", FIELDS)
def test_the_plain_way_reads_a_callflows_body_as_pydantic_does(field: str) -> None:
    """Every value of every field: the plain check (service/sitecore/body.py) either takes the body and reads
    exactly what pydantic reads, or leaves it to pydantic; a client is told the same error either way."""
    for value in VALUES:
        raw = orjson.dumps({"clientKey": "k", "friendlyId": "f", field: value})
        try:
            expected: object = _fields(parse(CallFlowBody, raw))
        except ApiError as exc:
            expected = exc.developer_message
        if isinstance(expected, str):
            with pytest.raises(ApiError) as refused:
                parse_body(raw)
            assert refused.value.developer_message == expected, (field, value)
            continue
        body = parse_body(raw)
        if isinstance(body, PlainBody):
            assert _fields(body) == expected, (field, value)
        else:
            assert isinstance(body, CallFlowBody)  # pydantic's own answer, taken as is
