import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from messaging import ph_prefixes
from messaging.numbers import (
    InvalidPhoneNumber,
    Network,
    detect_network,
    is_valid_ph_number,
    normalize_ph_number,
    operator_of,
    to_digits,
    to_national,
)
from portal.errors import ApplicationError


@pytest.mark.parametrize(
    "raw",
    [
        "09171234567",
        "9171234567",
        "639171234567",
        "+639171234567",
        "0917 123 4567",
        "0917-123-4567",
        "+63 917 123 4567",
        "+63-917-123-4567",
        "63 917-123-4567",
        " 09171234567 ",
        "917 123 4567",
    ],
)
def test_accepted_shapes_normalize_to_e164(raw):
    assert normalize_ph_number(raw) == "+639171234567"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "0917123456",  # 10 digits with trunk 0
        "091712345678",  # 12 digits with trunk 0
        "+63917123456",  # one digit short
        "+6391712345678",  # one digit long
        "+63 2 8123 4567",  # Manila landline
        "0281234567",  # landline, national form
        "+1 917 123 4567",  # another country
        "0063 917 123 4567",  # international prefix is not an accepted shape
        "+6309171234567",  # trunk 0 after the country code
        "(0917) 123 4567",  # brackets are not accepted
        "0917.123.4567",  # nor dots
        "0917123456a",
        "abc",
        "+63917123456７",  # full-width digit
        "０９１７１２３４５６７",
        "+639171234567 ext 12",
        "++639171234567",
        "639171234567+",
        "08121234567",  # 0812: no mobile network owns it (08 is shared with provincial landlines)
        "08821234567",  # Davao landline area code 082 with an 8-digit number
        "+638001234567",
        "8121234567",
    ],
)
def test_other_input_is_rejected_naming_the_input(raw):
    with pytest.raises(InvalidPhoneNumber) as caught:
        normalize_ph_number(raw)
    error = caught.value
    assert isinstance(error, ApplicationError)
    assert error.code == "invalid_number"
    assert error.status == 400
    if raw.strip():
        assert repr(raw) in error.message
    else:
        assert "empty" in error.message.lower()


def test_non_string_input_is_rejected():
    with pytest.raises(InvalidPhoneNumber, match="9171234567"):
        normalize_ph_number(9171234567)


def test_long_input_is_echoed_truncated():
    raw = "x" * 500
    with pytest.raises(InvalidPhoneNumber) as caught:
        normalize_ph_number(raw)
    assert len(caught.value.message) < 200
    assert caught.value.details["input"] == raw[:40]


def test_is_valid_ph_number():
    assert is_valid_ph_number("0917-123-4567")
    assert not is_valid_ph_number("0917-123-456")


@given(st.from_regex(r"9[0-9]{9}", fullmatch=True))
@settings(suppress_health_check=[HealthCheck.too_slow])  # a loaded CI machine draws slowly; the check is the point
def test_every_accepted_shape_of_a_number_gives_the_same_e164(national):
    expected = f"+63{national}"
    shapes = [
        f"0{national}",
        national,
        f"63{national}",
        f"+63{national}",
        f"+63 {national[:3]}-{national[3:]}",
    ]
    assert {normalize_ph_number(shape) for shape in shapes} == {expected}
    assert to_national(expected) == f"0{national}"
    assert to_digits(expected) == f"63{national}"


@pytest.mark.parametrize(
    ("number", "network"),
    [
        ("+639181234567", Network.SMART),
        ("+639991234567", Network.SMART),
        ("+638131234567", Network.SMART),
        ("+638171234567", Network.GLOBE),
        ("+638951234567", Network.DITO),
        ("+638981234567", Network.DITO),
        ("+638121234567", Network.UNKNOWN),
        ("+639071234567", Network.TNT),
        ("+639301234567", Network.TNT),
        ("+639171234567", Network.GLOBE),
        ("+639951234567", Network.GLOBE),
        ("+639361234567", Network.TM),
        ("+639911234567", Network.DITO),
        ("+639941234567", Network.DITO),
        ("+639221234567", Network.SUN),
        ("+639331234567", Network.SUN),
        ("+639001234567", Network.UNKNOWN),  # unallocated block
        ("+639011234567", Network.UNKNOWN),
    ],
)
def test_detect_network(number, network):
    assert detect_network(number) == network


@pytest.mark.parametrize("bad", ["09171234567", "+63917123456", "", "not a number", None, "+12025550123"])
def test_detect_network_of_anything_but_normalized_numbers_is_unknown(bad):
    assert detect_network(bad) == Network.UNKNOWN


def test_detect_network_prefers_the_longest_prefix(monkeypatch):
    monkeypatch.setitem(ph_prefixes.PREFIX_TABLE, "9175", "tm")
    monkeypatch.setattr("messaging.numbers.LONGEST_PREFIX", 4)
    assert detect_network("+639175123456") == Network.TM
    assert detect_network("+639171234567") == Network.GLOBE


def test_prefix_table_has_no_prefix_in_two_brands():
    brand_sets = [ph_prefixes.SMART, ph_prefixes.TNT, ph_prefixes.SUN, ph_prefixes.GLOBE, ph_prefixes.TM]
    brand_sets.append(ph_prefixes.DITO)
    total = sum(len(brand) for brand in brand_sets)
    assert total == len(ph_prefixes.PREFIX_TABLE)


def test_prefix_table_entries_are_well_formed():
    network_values = set(Network.values) - {Network.UNKNOWN}
    for prefix, network in ph_prefixes.PREFIX_TABLE.items():
        assert prefix.isdigit() and len(prefix) == 3 and prefix[0] in "89", prefix
        assert network in network_values
    # Every brand appears in the table, and every brand has an operator.
    assert set(ph_prefixes.PREFIX_TABLE.values()) == network_values
    assert set(ph_prefixes.OPERATOR_BY_NETWORK) == set(Network.values)


@pytest.mark.parametrize(
    ("network", "operator"),
    [
        (Network.SMART, "smart"),
        (Network.TNT, "smart"),
        (Network.SUN, "smart"),
        (Network.GLOBE, "globe"),
        (Network.TM, "globe"),
        (Network.DITO, "dito"),
        (Network.UNKNOWN, "unknown"),
        ("nonsense", "unknown"),
    ],
)
def test_operator_of(network, operator):
    assert operator_of(network) == operator


@pytest.mark.parametrize("bad", ["09171234567", "+63917123456", "639171234567"])
def test_formatters_refuse_unnormalized_numbers(bad):
    with pytest.raises(InvalidPhoneNumber):
        to_national(bad)
    with pytest.raises(InvalidPhoneNumber):
        to_digits(bad)


@pytest.mark.parametrize(
    ("prefix", "network"),
    [
        ("0813", Network.SMART),
        ("0817", Network.GLOBE),
        ("0895", Network.DITO),
        ("0896", Network.DITO),
        ("0897", Network.DITO),
        ("0898", Network.DITO),
    ],
)
def test_08xx_mobile_blocks_are_accepted_in_every_shape(prefix, network):
    national = f"{prefix[1:]}1234567"
    expected = f"+63{national}"
    shapes = [
        f"0{national}",
        national,
        f"63{national}",
        f"+63{national}",
        f"{prefix} 123 4567",
        f"+63-{prefix[1:]}-1234567",
    ]
    assert {normalize_ph_number(shape) for shape in shapes} == {expected}
    assert detect_network(expected) == network
    assert to_national(expected) == f"0{national}"
    assert to_digits(expected) == f"63{national}"


def test_every_prefix_in_the_table_is_accepted():
    for prefix, network in ph_prefixes.PREFIX_TABLE.items():
        e164 = normalize_ph_number(f"0{prefix}{'1' * (10 - len(prefix))}")
        assert detect_network(e164) == Network(network), prefix


@pytest.mark.parametrize(
    ("raw", "prefix"), [("08121234567", "0812"), ("+63 880 123 4567", "0880"), ("8001234567", "0800")]
)
def test_an_08xx_prefix_no_network_owns_is_refused_naming_the_prefix(raw, prefix):
    with pytest.raises(InvalidPhoneNumber) as caught:
        normalize_ph_number(raw)
    assert caught.value.code == "invalid_number"
    assert "no mobile network owns the prefix" in caught.value.message
    assert repr(raw) in caught.value.message
    assert caught.value.details["prefix"] == prefix


def test_an_unallocated_09xx_prefix_is_still_accepted_as_unknown():
    assert normalize_ph_number("09001234567") == "+639001234567"
    assert detect_network("+639001234567") == Network.UNKNOWN


def test_the_prefix_table_is_dated():
    assert ph_prefixes.PREFIX_TABLE_AS_OF.year >= 2026
    assert "PREFIX_TABLE_AS_OF" in ph_prefixes.__doc__
