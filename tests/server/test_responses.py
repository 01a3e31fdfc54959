"""responses.header_value(): any text becomes a header value the HTTP layer sends as it is."""

from __future__ import annotations

import json

import h11
from hypothesis import given
from hypothesis import strategies as st

from hg_localization.server.responses import MESSAGE_HEADER_LIMIT, header_value, hub_error


@given(st.text())
def test_any_text_is_a_header_value_h11_accepts(text: str) -> None:
    value = header_value(text).encode("latin-1")  # as Starlette encodes it
    h11.Response(status_code=404, headers=[(b"X-Error-Message", value)])


def test_control_characters_are_spelled_out_and_line_breaks_become_spaces() -> None:
    assert header_value("x\ry\0z\x7f") == "x%0Dy%00z%7F"
    assert header_value(" first line\nsecond\tline \n") == "first line second line"
    assert header_value("café → ok") == "café ? ok"


def test_an_error_message_header_is_bounded_and_the_body_keeps_it_whole() -> None:
    message = "'" + "a\r" * 1000 + "' does not exist."
    answer = hub_error(404, message, "EntryNotFound", commit="0" * 40 + "\n")
    assert len(answer.headers["X-Error-Message"]) <= MESSAGE_HEADER_LIMIT
    assert "\r" not in answer.headers["X-Error-Message"]
    assert answer.headers["X-Repo-Commit"] == "0" * 40
    assert json.loads(answer.body) == {"error": message}
