from datetime import date
from decimal import Decimal

import pytest
from biip.checksums import gs1_standard_check_digit as check_digit
from hypothesis import given
from hypothesis import strategies as st

from store_associate.domain.codes import CodeKind, interpret
from store_associate.domain.gtin import upca_to_upce

GS = "\x1d"


@pytest.mark.parametrize(
    "text",
    [
        "4006381333931",
        "]E04006381333931",
        "04006381333931",
        " 4006381333931\r\n",
        "]C1014006381333931" if False else "]C10104006381333931",
        "]d20104006381333931",
        "]Q30104006381333931",
        "(01)04006381333931",
        "https://id.gs1.org/01/04006381333931",
        "]Q1https://id.gs1.org/01/04006381333931",
        "HTTPS://ID.GS1.ORG/01/04006381333931",
        "https://example.com/shop/01/04006381333931?x=1",
        "0104006381333931",
    ],
)
def test_every_representation_gives_one_gtin14(text):
    info = interpret(text)
    assert info.valid, (text, info)
    assert info.gtin == "04006381333931"


@pytest.mark.parametrize(
    "text",
    [
        "4006381333932",
        "]E04006381333932",
        "]d20104006381333932",
        "https://id.gs1.org/01/04006381333932",
        "HTTPS://id.gs1.org/01/04006381333932/10/AB",
        "(01)04006381333932",
        "036000291453",
        "10000087139219",
        "]E412345678",
    ],
)
def test_bad_check_digit_is_invalid_never_a_product(text):
    info = interpret(text)
    assert info.kind is CodeKind.INVALID
    assert info.gtin is None and info.gtins == ()
    assert info.error == "code.error.check_digit"


def test_gs1_element_string_fields():
    info = interpret("]C1010400638133393110ABC123" + GS + "17251231" + "21SER-9")
    assert info.kind is CodeKind.GS1
    assert info.batch == "ABC123"
    assert info.expiry == date(2025, 12, 31)
    assert info.serial == "SER-9"


def test_variable_measure_fields_from_element_string():
    info = interpret("(01)04006381333931(3103)001250(3922)1299")
    assert info.net_weight_kg == Decimal("1.250")
    assert info.price == Decimal("12.99")


def test_digital_link_with_qualifiers():
    info = interpret("https://id.gs1.org/01/04006381333931/10/LOT7/21/XYZ?17=270101")
    assert info.kind is CodeKind.DIGITAL_LINK
    assert (info.batch, info.serial, info.expiry) == ("LOT7", "XYZ", date(2027, 1, 1))


def test_plain_url_is_text_not_product():
    info = interpret("https://example.com/promo?x=1")
    assert info.kind is CodeKind.TEXT and info.gtin is None


def test_upce_and_ean8_ambiguity_settled_by_aim_or_symbology():
    ambiguous = interpret("12345670")
    assert ambiguous.gtin == "00000012345670"  # EAN-8 first, UPC-E reading kept as alternative
    assert ambiguous.alternatives == ("00123456000070",)
    assert interpret("]E412345670").gtins == ("00000012345670",)
    assert interpret("12345670", symbology_hint="upce").gtins == ("00123456000070",)
    assert interpret("12345670", symbology_hint="ean8").gtins == ("00000012345670",)
    # Only a UPC-E reading is valid here: no alternatives.
    assert interpret("04252614").gtins == ("00042100005264",)


def test_bare_digits_do_not_parse_as_ai_data():
    # biip reads '4006381333931' as AI 400 (a purchase order); we must read it as an EAN-13.
    assert interpret("4006381333931").kind is CodeKind.GTIN
    assert interpret("12345").kind is CodeKind.PLU
    assert interpret("123456789").kind is CodeKind.TEXT


@pytest.mark.parametrize(
    "text,kind,ref",
    [
        ("PU-7K3M9QXA", CodeKind.PICKUP, "7K3M9QXA"),
        ("pu7k3m9qxa", CodeKind.PICKUP, "7K3M9QXA"),
        ("RT-ABCDEFGH", CodeKind.RETURN_LABEL, "ABCDEFGH"),
        ("LY-1234567897", CodeKind.LOYALTY, "1234567897"),
    ],
)
def test_own_code_families(text, kind, ref):
    info = interpret(text)
    assert info.kind is kind and info.reference == ref and info.gtin is None


def test_loyalty_with_bad_luhn_is_invalid():
    assert interpret("LY-1234567890").kind is CodeKind.INVALID


def test_internal_sku():
    info = interpret("sku-100234")
    assert info.kind is CodeKind.INTERNAL and info.lookup == "SKU-100234"


@pytest.mark.parametrize(
    "text,error",
    [
        ("", "code.error.empty"),
        ("   ", "code.error.empty"),
        ("]E0", "code.error.empty"),
        ("x" * 10_000, "code.error.too_long"),
        ("abc\x00def", "code.error.control_chars"),
        ("]C1garbage", "code.error.malformed"),
        ("]E0123", "code.error.malformed"),
    ],
)
def test_malformed_inputs(text, error):
    info = interpret(text)
    assert info.kind is CodeKind.INVALID and info.error == error


@pytest.mark.parametrize("text", ["' OR 1=1 --", "<script>alert(1)</script>", "Grüße", "😀🛒", "بار كود"])
def test_odd_text_is_text_with_no_gtin(text):
    info = interpret(text)
    assert info.kind is CodeKind.TEXT and info.gtin is None


def test_non_string_input_is_invalid():
    assert interpret(1234).kind is CodeKind.INVALID  # type: ignore[arg-type]


@given(st.text(max_size=300))
def test_interpret_never_raises_and_gtins_always_valid(text):
    from store_associate.domain.gtin import is_valid_gtin

    info = interpret(text)
    for g in info.gtins:
        assert len(g) == 14 and is_valid_gtin(g)


@given(st.text(alphabet="0123456789", min_size=11, max_size=11).filter(lambda s: s[0] in "01"))
def test_all_forms_of_a_upc_reach_the_same_gtin14(body):
    upca = body + str(check_digit(body))
    forms = [upca, "0" + upca, "00" + upca, "]E00" + upca, f"(01)00{upca}", f"https://id.gs1.org/01/00{upca}"]
    upce = upca_to_upce(upca)
    if upce:
        forms.append(upce if interpret(upce).gtin == upca.zfill(14) else "]E0" + upce)
    gtins = {interpret(f).gtins[0] if interpret(f).gtins else None for f in forms}
    assert gtins == {upca.zfill(14)}


@given(st.text(alphabet="0123456789", min_size=12, max_size=12).filter(lambda s: s[0] != "0"))
def test_all_forms_of_an_ean13_reach_the_same_gtin14(body):
    ean = body + str(check_digit(body))
    forms = [
        ean,
        "0" + ean,
        "]E0" + ean,
        "]C101" + "0" + ean,
        "]d201" + "0" + ean,
        f"(01)0{ean}",
        f"https://id.gs1.org/01/0{ean}",
        f"HTTPS://ID.GS1.ORG/01/0{ean}",
        f"]Q1https://id.gs1.org/01/0{ean}",
    ]
    assert {interpret(f).gtin for f in forms} == {"0" + ean}


# --- the codes of sales and balances (issue 14) ------------------------------------------------------


@pytest.mark.parametrize(
    "text,kind,ref",
    [
        ("RC-NYC01-261203-02-0042", CodeKind.RECEIPT, "NYC01-261203-02-0042"),
        ("rc-nyc01-261203-02-0042", CodeKind.RECEIPT, "NYC01-261203-02-0042"),
        ("]C0RC-NYC01-261203-02-0042", CodeKind.RECEIPT, "NYC01-261203-02-0042"),  # Code 128 with its AIM
        (" RC-NYC01-261203-02-0042\r\n", CodeKind.RECEIPT, "NYC01-261203-02-0042"),  # a wedge's Enter
        ("RC-SA-12345678", CodeKind.RECEIPT, "SA-12345678"),  # a web order's sale: the order number
        ("RC-" + "A" * 32, CodeKind.RECEIPT, "A" * 32),
        ("RC-AB12", CodeKind.RECEIPT, "AB12"),
        ("GR-7K3M9QXA2B", CodeKind.GIFT_RECEIPT, "7K3M9QXA2B"),
        ("gr7k3m9qxa2b", CodeKind.GIFT_RECEIPT, "7K3M9QXA2B"),
        ("]Q1GR-7K3M9QXA2B", CodeKind.GIFT_RECEIPT, "7K3M9QXA2B"),
        ("SC-7K3M9QXA2B4C", CodeKind.STORE_CREDIT, "7K3M9QXA2B4C"),
        ("sc7k3m9qxa2b4c", CodeKind.STORE_CREDIT, "7K3M9QXA2B4C"),
        ("GC-7K3M9QXA2B4C", CodeKind.GIFT_CARD, "7K3M9QXA2B4C"),
        ("]Q1gc-7k3m9qxa2b4c", CodeKind.GIFT_CARD, "7K3M9QXA2B4C"),
    ],
)
def test_sale_and_balance_codes(text, kind, ref):
    info = interpret(text)
    assert (info.kind, info.reference) == (kind, ref)
    assert info.gtin is None and info.gtins == () and info.lookup is None


@pytest.mark.parametrize(
    "text",
    [
        "RC-ABC",  # a receipt number has at least four characters
        "RC-" + "A" * 33,  # and at most 32
        "RC--NYC01-261203",  # it begins with a letter or digit
        "RC-NYC01_261203",  # letters, digits and dashes only
        "RC-NYC01 261203",
        "RCNYC01-261203-02-0042",  # the dash after RC is required: this is a receipt number typed as such
        "RC-NYÇ01-261203",
        "GR-7K3M9QXA2",  # nine characters
        "GR-7K3M9QXA2BC",  # eleven
        "GR-7K3M9QXA2I",  # I, L, O and U are not Crockford base 32
        "GR-7K3M9QXA2U",
        "SC-7K3M9QXA2B4",  # eleven
        "SC-7K3M9QXA2B4CD",  # thirteen
        "SC-7K3M9QXA2B4O",
        "GC-7K3M9QXA2B",  # a gift receipt's length is no gift card
        "GC-7K3M9QXA2B4L",
        "GX-7K3M9QXA2B4C",
        "RC-ıNYC01-261203",  # dotless i upper-cases to I: not a receipt
    ],
)
def test_near_misses_are_not_sale_or_balance_codes(text):
    info = interpret(text)
    assert info.kind not in {CodeKind.RECEIPT, CodeKind.GIFT_RECEIPT, CodeKind.STORE_CREDIT, CodeKind.GIFT_CARD}
    assert info.reference is None


@pytest.mark.parametrize(
    "text,error",
    [
        ("RC-NYC01-2612\x0003-02-0042", "code.error.control_chars"),
        ("GR-7K3M9\x1bQXA2B", "code.error.control_chars"),
        ("]C0", "code.error.empty"),
        ("RC-" + "A" * 600, "code.error.too_long"),
    ],
)
def test_garbled_sale_codes_are_invalid(text, error):
    info = interpret(text)
    assert info.kind is CodeKind.INVALID and info.error == error and info.reference is None


def test_a_gtin_is_not_a_receipt_and_a_receipt_is_not_a_product():
    assert interpret("4006381333931").kind is CodeKind.GTIN  # digits only: never a receipt number
    assert interpret("RC-4006381333931").kind is CodeKind.RECEIPT  # the RC- prefix makes a receipt barcode
    assert interpret("NYC01-261203-02-0042").kind is CodeKind.TEXT  # a receipt number typed: text to search


def test_sale_and_balance_codes_are_not_products():
    from store_associate.domain.codes import NOT_PRODUCT_KINDS, lookup_keys

    for text in ("RC-NYC01-261203-02-0042", "GR-7K3M9QXA2B", "SC-7K3M9QXA2B4C", "GC-7K3M9QXA2B4C"):
        info = interpret(text)
        assert info.kind in NOT_PRODUCT_KINDS
        assert not lookup_keys(info)


def test_arabic_indic_digits_are_no_loyalty_card():
    assert interpret("LY-١٢٣٤٥٦٧٨٩٧").kind is CodeKind.TEXT
