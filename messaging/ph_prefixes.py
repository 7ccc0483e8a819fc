"""Philippine mobile prefixes, owned and maintained by this project: the one network table (see PREFIX_TABLE_AS_OF).

Keys are national-number prefixes without the trunk "0" (the "917" of 0917-123-4567); the longest matching key
wins, so a 5-digit sub-block can override its 4-digit parent (none is needed today).

Sources (reviewed on PREFIX_TABLE_AS_OF, below):
- NTC number-block allocations as republished in the public prefix lists (pesohacks.com 2024 list,
  simregistrationph.com 2025 list, wiseph.net 2026 list), which give the operator of each prefix below;
- libphonenumber's PH carrier data (phonenumbers 9.0.43) for blocks those lists omit (0904, 0952, 0957, 0958,
  0959, 0962, 0964, 0971, 0972, 0983, 0986, 0987, 0988).
Known disagreements, decided here: 0914 (older lists: Smart; libphonenumber: Globe) -> Globe;
0924/0934/0944 (public lists: Sun; libphonenumber: DITO) -> Sun.

Brands: Smart/TNT/Sun run on PLDT-Smart's network and Globe/TM on Globe's; within one operator the blocks
are shared, and the brand recorded is the one the public lists give for that block. Since Mobile Number
Portability (RA 11202, live since September 2021) a prefix tells the *original* allocation only: treat the
result as a routing hint (see `OPERATOR_BY_NETWORK`), never as proof of the current network.

The 08XX blocks (0813, 0817, 0895-0898) are real mobile allocations and are accepted like 09XX numbers. The
08 range is shared with provincial landline area codes, so there (unlike in the all-mobile 09 range) only a
prefix listed below is a mobile number: `messaging.numbers` refuses any other 08XX number per recipient.

To update: edit the sets below, add a test case in tests/messaging/test_numbers.py, and change PREFIX_TABLE_AS_OF.
"""

from datetime import date

# When the table below was last checked against its sources (named in the module docstring: the NTC allocations
# as republished by pesohacks.com, simregistrationph.com and wiseph.net, and libphonenumber's PH carrier data).
PREFIX_TABLE_AS_OF = date(2026, 11, 25)

SMART = frozenset(
    {
        "813", "908", "911", "913", "918", "919", "920", "921", "928", "929", "939", "947", "949", "951",
        "958", "960", "961", "962", "963", "964", "968", "969", "970", "981", "985", "988", "989", "998",
        "999",
    }
)  # fmt: skip
TNT = frozenset({"907", "909", "910", "912", "930", "938", "946", "948", "950"})
SUN = frozenset(
    {"922", "923", "924", "925", "931", "932", "933", "934", "940", "941", "942", "943", "944", "973", "974"}
)
GLOBE = frozenset(
    {
        "817", "904", "905", "914", "915", "916", "917", "926", "927", "945", "952", "953", "954", "955",
        "956", "957", "959", "965", "966", "967", "971", "972", "975", "976", "977", "978", "979", "983",
        "986", "987", "995", "996", "997",
    }
)  # fmt: skip
TM = frozenset({"906", "935", "936", "937"})
DITO = frozenset({"895", "896", "897", "898", "991", "992", "993", "994"})

# prefix -> Network value ("smart", "tnt", ...); built once, checked for overlaps by the tests.
PREFIX_TABLE: dict[str, str] = {
    **dict.fromkeys(SMART, "smart"),
    **dict.fromkeys(TNT, "tnt"),
    **dict.fromkeys(SUN, "sun"),
    **dict.fromkeys(GLOBE, "globe"),
    **dict.fromkeys(TM, "tm"),
    **dict.fromkeys(DITO, "dito"),
}

# The mobile operator whose radio network carries each brand.
OPERATOR_BY_NETWORK: dict[str, str] = {
    "smart": "smart",
    "tnt": "smart",
    "sun": "smart",
    "globe": "globe",
    "tm": "globe",
    "dito": "dito",
    "unknown": "unknown",
}

# Leading digit of the national number -> whether a prefix outside the table is still a mobile number there.
# The 9 range is mobile only (a new allocation is accepted with network "unknown"); the 8 range is not.
OPEN_RANGES = frozenset({"9"})
MOBILE_RANGES = frozenset(prefix[0] for prefix in PREFIX_TABLE)

LONGEST_PREFIX = max(len(prefix) for prefix in PREFIX_TABLE)
SHORTEST_PREFIX = min(len(prefix) for prefix in PREFIX_TABLE)
