import pytest
from hypothesis import given
from hypothesis import strategies as st

from messaging.segments import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    Encoding,
    count_segments,
    is_gsm7,
    non_gsm_characters,
)

GSM_BASIC = sorted(GSM7_BASIC)
GSM_ALL = sorted(GSM7_BASIC | GSM7_EXTENSION)
gsm_text = st.text(alphabet=GSM_ALL, max_size=500)
any_text = st.text(max_size=400)


@pytest.mark.parametrize(
    ("length", "segments", "remaining"),
    [(1, 1, 159), (160, 1, 0), (161, 2, 145), (306, 2, 0), (307, 3, 152), (459, 3, 0), (460, 4, 152)],
)
def test_gsm7_boundaries(length, segments, remaining):
    info = count_segments("a" * length)
    assert info.encoding == Encoding.GSM7
    assert info.segments == segments
    assert info.characters == length
    assert info.per_segment == (160 if segments == 1 else 153)
    assert info.remaining_in_segment == remaining


@pytest.mark.parametrize(
    ("length", "segments", "remaining"),
    [(1, 1, 69), (70, 1, 0), (71, 2, 63), (134, 2, 0), (135, 3, 66), (201, 3, 0), (202, 4, 66)],
)
def test_ucs2_boundaries(length, segments, remaining):
    info = count_segments("ā" * length)  # a-macron is not in the GSM alphabet
    assert info.encoding == Encoding.UCS2
    assert info.segments == segments
    assert info.characters == length
    assert info.per_segment == (70 if segments == 1 else 67)
    assert info.remaining_in_segment == remaining


def test_empty_body_has_no_segments():
    info = count_segments("")
    assert (info.encoding, info.segments, info.characters) == (Encoding.GSM7, 0, 0)


@pytest.mark.parametrize("char", sorted(GSM7_EXTENSION))
def test_each_extension_character_counts_two(char):
    assert count_segments(char).characters == 2
    assert count_segments(char * 80).segments == 1
    assert count_segments(char * 81).segments == 2
    assert count_segments(char * 81).encoding == Encoding.GSM7


def test_gsm_specials_stay_gsm7():
    body = "Hi @Ana! Bayad: ₱? no — ¥100 ok £5 €3 {x} [y] ~ | ^ \\ é è Ñ ß Δ\n"
    assert non_gsm_characters(body) == ["₱", "—"]
    assert count_segments(body.replace("₱", "P").replace("—", "-")).encoding == Encoding.GSM7


@pytest.mark.parametrize("char", ["₱", "ñ̃", "’", "“", "\t", "ç", "á", "中", "\u00a0"])
def test_one_non_gsm_character_makes_the_whole_message_ucs2(char):
    body = "a" * 100 + char
    info = count_segments(body)
    assert info.encoding == Encoding.UCS2
    assert info.characters == len(body.encode("utf-16-le")) // 2
    assert info.segments == 2


def test_emoji_count_two_code_units():
    assert count_segments("😀" * 35) == count_segments("ā" * 70)
    info = count_segments("😀" * 36)
    assert (info.segments, info.characters) == (2, 72)


def test_escape_pairs_are_not_split_across_segments():
    # 152 septets then an extension char: it moves whole to segment 2.
    assert count_segments("a" * 152 + "€" + "a" * 151).segments == 2  # 152 | 2 + 151
    assert count_segments("a" * 152 + "€" + "a" * 152).segments == 3  # 306 septets, but 152 | 153 | 1


def test_surrogate_pairs_are_not_split_across_segments():
    assert count_segments("ā" * 66 + "😀" + "ā" * 65).segments == 2  # 66 | 2 + 65
    assert count_segments("ā" * 66 + "😀" + "ā" * 66).segments == 3  # 134 units, but 66 | 67 | 1


@given(gsm_text)
def test_gsm_only_text_is_never_ucs2(body):
    info = count_segments(body)
    assert info.encoding == Encoding.GSM7
    assert is_gsm7(body)
    assert info.characters == sum(2 if char in GSM7_EXTENSION else 1 for char in body)


@given(st.text(alphabet=GSM_BASIC, max_size=1000))
def test_basic_gsm_text_matches_the_plain_formula(body):
    info = count_segments(body)
    expected = 0 if not body else 1 if len(body) <= 160 else -(-len(body) // 153)
    assert info.segments == expected


@given(any_text, st.characters())
def test_segment_count_never_drops_when_text_grows(body, extra):
    assert count_segments(body + extra).segments >= count_segments(body).segments


@given(any_text)
def test_invariants(body):
    info = count_segments(body)
    assert (info.segments == 0) == (body == "")
    assert 0 <= info.remaining_in_segment <= info.per_segment
    assert info.segments * info.per_segment >= info.characters
    if info.encoding == Encoding.UCS2:
        assert info.characters == len(body.encode("utf-16-le")) // 2
        assert non_gsm_characters(body)
    else:
        assert non_gsm_characters(body) == []
    if info.segments > 1:
        # A multipart message needs every one of its segments: one fewer could not hold it.
        assert (info.segments - 1) * info.per_segment < info.characters + info.segments
