"""One rule for code -> lookup keys, the same on the device and the server (domain.codes.lookup_keys)."""

import pytest

from store_associate.domain.codes import CodeKind, LookupKeys, interpret, lookup_keys

GTIN = "04006381333931"
CASES = [
    # kind, text, barcode keys, SKU fallback
    (CodeKind.GTIN, "4006381333931", (GTIN,), None),
    (CodeKind.GTIN, "12345670", ("00000012345670", "00123456000070"), None),  # EAN-8 or UPC-E: both tried
    (CodeKind.GS1, "]C10104006381333931" + "10AB", (GTIN,), None),
    (CodeKind.GS1, "(00)106141411234567897", ("(00)106141411234567897",), None),  # an SSCC is no SKU
    (CodeKind.DIGITAL_LINK, f"https://id.gs1.org/01/{GTIN}", (GTIN,), None),
    (CodeKind.INTERNAL, "sku-100234", ("SKU-100234",), "100234"),  # the shelf label's prefix is not the SKU's
    (CodeKind.PLU, "4011", ("4011",), None),  # an unlisted produce number is not the SKU sharing its digits
    (CodeKind.TEXT, " 100234 ", ("100234",), "100234"),  # a typed SKU
    (CodeKind.TEXT, "Grüße", ("Grüße",), "Grüße"),
    (CodeKind.PICKUP, "PU-7K3M9QXA", (), None),
    (CodeKind.LOYALTY, "LY-1234567897", (), None),
    (CodeKind.RETURN_LABEL, "RT-ABCDEFGH", (), None),
    (CodeKind.RECEIPT, "RC-NYC01-261203-02-0042", (), None),  # a receipt, a gift receipt, a balance: no product
    (CodeKind.GIFT_RECEIPT, "GR-7K3M9QXA2B", (), None),
    (CodeKind.STORE_CREDIT, "SC-7K3M9QXA2B4C", (), None),
    (CodeKind.GIFT_CARD, "GC-7K3M9QXA2B4C", (), None),
    (CodeKind.INVALID, "4006381333932", (), None),
]


@pytest.mark.parametrize("kind,text,codes,sku", CASES)
def test_lookup_keys_by_kind(kind, text, codes, sku):
    info = interpret(text)
    assert info.kind is kind
    assert lookup_keys(info) == LookupKeys(codes, sku)


def test_every_kind_has_a_rule_under_test():
    assert {kind for kind, *_ in CASES} == set(CodeKind)


def test_only_shelf_labels_and_typed_text_fall_back_to_a_sku():
    falls_back = {kind for kind, text, _, _ in CASES if lookup_keys(interpret(text)).sku}
    assert falls_back == {CodeKind.INTERNAL, CodeKind.TEXT}


def test_codes_that_are_not_products_give_nothing_to_look_up():
    for text in ("PU-7K3M9QXA", "LY-1234567897", "RT-ABCDEFGH", "", "x" * 10_000):
        assert not lookup_keys(interpret(text))
    assert lookup_keys(interpret("4011"))
