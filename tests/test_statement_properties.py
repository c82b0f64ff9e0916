"""Property tests: whatever bytes or JSON-like structures arrive, the statement parser and the
DSSE envelope parser give a result or their own refusal, never another exception."""

from __future__ import annotations

import base64
import contextlib
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from vouch.intoto import (
    STATEMENT_TYPE,
    VOUCH_PREDICATE,
    StatementError,
    from_document,
    parse_statement,
    read_vouch,
)
from vouch.sign.envelope import EnvelopeError, parse_envelope

PROPERTIES = settings(max_examples=200, deadline=None)

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=30,
)
names = st.sampled_from(["demo-1.0.tar.gz", "../x", "", "a/b", "x\0", ".."]) | st.text(max_size=12)
digests = st.sampled_from(["a" * 64, "A" * 64, "a" * 63]) | st.text(max_size=70)
digest_objects = st.fixed_dictionaries({"sha256": digests}) | json_values
subjects = st.lists(
    st.fixed_dictionaries({"name": names | json_values, "digest": digest_objects}), max_size=3
)
commits = st.sampled_from(["c" * 40, "C" * 40, "c"]) | json_values
sources = st.fixed_dictionaries({"commit": commits}) | json_values
roles = st.none() | st.text(max_size=5) | json_values
predicates = st.fixed_dictionaries({"source": sources, "role": roles}) | json_values
statements = st.fixed_dictionaries(
    {
        "_type": st.just(STATEMENT_TYPE) | json_values,
        "subject": subjects | json_values,
        "predicateType": st.just(VOUCH_PREDICATE) | json_values,
        "predicate": predicates,
    }
)
signatures = st.lists(
    st.fixed_dictionaries(
        {"keyid": st.text(max_size=8) | json_values, "sig": st.text(max_size=8) | json_values}
    ),
    max_size=20,
)
envelopes = st.fixed_dictionaries(
    {
        "payload": st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode()) | json_values,
        "payloadType": st.just("application/vnd.in-toto+json") | json_values,
        "signatures": signatures | json_values,
    }
)


def _refusal_is_one_line(exc: Exception) -> bool:
    return bool(str(exc)) and "\n" not in str(exc)


@PROPERTIES
@given(statements)
def test_statement_structures(document: dict[str, Any]) -> None:
    refusal: Exception | None = None
    try:
        read_vouch(from_document(document))
    except StatementError as exc:
        refusal = exc
    assert refusal is None or _refusal_is_one_line(refusal)
    with contextlib.suppress(StatementError):
        parse_statement(json.dumps(document).encode())


@PROPERTIES
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_statement_bytes(data: bytes) -> None:
    with contextlib.suppress(StatementError):
        read_vouch(parse_statement(data))


@PROPERTIES
@given(envelopes | json_values)
def test_envelope_structures(document: Any) -> None:
    refusal: Exception | None
    try:
        envelope = parse_envelope(document)
    except EnvelopeError as exc:
        refusal = exc
    else:
        refusal = None
        assert 1 <= len(envelope.signatures) <= 16
        envelope.pae()
    assert refusal is None or _refusal_is_one_line(refusal)
