"""Dead letters always fit the producer's limit, and keep enough to recognise a cut original."""

from __future__ import annotations

import base64
import hashlib

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from core import names
from monitor import deadletters
from monitor.deadletters import MAX_KEY_BYTES, MAX_LETTER_BYTES, MAX_ORIGINAL_BYTES, dead_letter

PRODUCER_LIMIT = 1_048_576  # aiokafka's default max_request_size
NOW = 1_790_000_000_000


def letter_of(
    raw: bytes | None, key: bytes | None = b"o1", reason: str = "not JSON"
) -> deadletters.DeadLetter:
    return dead_letter(names.TRIP_EVENTS, 3, 42, key, raw, reason, NOW)


def test_small_original_is_kept_whole_with_its_size_and_hash() -> None:
    raw = b'{"type": "driver.teleported"}'
    letter = deadletters.decode(deadletters.encode(letter_of(raw)))
    assert deadletters.original_bytes(letter) == raw and not letter.truncated
    assert letter.original_size == len(raw)
    assert letter.original_sha256 == hashlib.sha256(raw).hexdigest()
    assert (letter.topic, letter.partition, letter.offset, letter.rejected_at) == (
        names.TRIP_EVENTS,
        3,
        42,
        NOW,
    )
    assert base64.b64decode(letter.key_b64) == b"o1" and not letter.key_truncated


def test_two_megabyte_original_keeps_its_first_bytes_size_and_hash() -> None:
    raw = bytes(range(256)) * (2 * 1024 * 4)  # 2 MiB: the producer would refuse it whole
    encoded = deadletters.encode(letter_of(raw))
    letter = deadletters.decode(encoded)
    assert len(encoded) <= MAX_LETTER_BYTES < PRODUCER_LIMIT
    assert letter.truncated and letter.original_size == len(raw)
    assert deadletters.original_bytes(letter) == raw[:MAX_ORIGINAL_BYTES]
    assert letter.original_sha256 == hashlib.sha256(raw).hexdigest()


def test_original_of_exactly_the_limit_is_not_cut() -> None:
    raw = b"x" * MAX_ORIGINAL_BYTES
    letter = letter_of(raw)
    assert not letter.truncated and deadletters.original_bytes(letter) == raw


def test_megabyte_key_is_cut_and_flagged() -> None:
    key = b"k" * 1_000_000
    letter = letter_of(b"{}", key=key)
    assert letter.key_truncated and base64.b64decode(letter.key_b64) == key[:MAX_KEY_BYTES]
    assert deadletters.bounded_key(key) == key[:MAX_KEY_BYTES]  # what the letter is sent under


def test_reason_quoting_a_megabyte_value_is_cut_in_the_middle() -> None:
    reason = "Invalid enum value '" + "x" * 1_000_000 + "' - at `$.cancelled_by`"
    letter = letter_of(b"{}", reason=reason)
    assert len(letter.reason) <= deadletters.MAX_REASON_CHARS
    assert letter.reason.startswith("Invalid enum value 'xxx") and letter.reason.endswith(
        "at `$.cancelled_by`"
    )
    assert "characters cut" in letter.reason


def test_reason_with_a_lone_surrogate_still_encodes() -> None:
    letter = letter_of(b"{}", reason="processing failed: bad \udcff byte")
    assert b"processing failed" in deadletters.encode(letter)


def test_worst_case_letter_fits_the_producer_limit() -> None:
    # JSON escapes a control character in six bytes: the costliest reason there is.
    letter = dead_letter("t" * 249, 2**31 - 1, 2**63 - 1, b"k" * 10**6, b"\xff" * 10**7, "\x00" * 10**6, NOW)
    assert len(deadletters.encode(letter)) <= MAX_LETTER_BYTES < PRODUCER_LIMIT


def test_tombstone_has_an_empty_original_and_no_key() -> None:
    letter = letter_of(None, key=None)
    assert deadletters.original_bytes(letter) == b"" and letter.key_b64 is None and letter.original_size == 0


def test_letter_written_before_the_new_fields_still_decodes() -> None:
    old = {
        "topic": names.TELEMETRY, "partition": 0, "offset": 7, "reason": "not JSON",
        "original_b64": base64.b64encode(b"nope").decode(), "key_b64": None, "rejected_at": NOW,
    }  # fmt: skip
    letter = deadletters.decode(msgspec.json.encode(old))
    assert deadletters.original_bytes(letter) == b"nope"
    assert letter.original_size is None and letter.original_sha256 is None and letter.truncated is False


LONE_SURROGATES = st.integers(0xD800, 0xDFFF).map(chr)  # what surrogateescape leaves in a str


@settings(max_examples=150, deadline=None)
@given(
    raw=st.one_of(st.none(), st.binary(max_size=4096)),
    key=st.one_of(st.none(), st.binary(max_size=2048)),
    reason=st.lists(st.one_of(st.characters(), LONE_SURROGATES), max_size=3000).map("".join),
)
def test_any_rejected_message_makes_a_letter_that_fits_and_round_trips(
    raw: bytes | None, key: bytes | None, reason: str
) -> None:
    encoded = deadletters.encode(dead_letter(names.PAYMENTS, 1, 2, key, raw, reason, NOW))
    letter = deadletters.decode(encoded)
    assert len(encoded) <= MAX_LETTER_BYTES and len(letter.reason) <= deadletters.MAX_REASON_CHARS
    assert deadletters.original_bytes(letter) == (raw or b"")[:MAX_ORIGINAL_BYTES]
    assert letter.original_sha256 == hashlib.sha256(raw or b"").hexdigest()
