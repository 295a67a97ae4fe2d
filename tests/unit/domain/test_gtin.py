from hypothesis import given
from hypothesis import strategies as st

from store_associate.domain.gtin import check_digit, is_valid_gtin, to_gtin14, upca_to_upce, upce_to_upca


def test_known_check_digits():
    assert check_digit("400638133393") == 1
    assert is_valid_gtin("4006381333931")
    assert not is_valid_gtin("4006381333932")
    assert is_valid_gtin("036000291452")  # UPC-A
    assert is_valid_gtin("96385074")  # EAN-8


def test_upce_expansion_known_values():
    assert upce_to_upca("04252614") == "042100005264"
    assert upce_to_upca("01234565") == "012345000065"
    assert upce_to_upca("04252615") is None  # wrong check digit
    assert upce_to_upca("24252614") is None  # number system 2 has no UPC-E


def test_rejects_non_digits_and_lengths():
    for bad in ["", "abc", "40063813339３1", "123456789", "400638133393", "1" * 15, "٤٠٠٦٣٨١٣٣٣٩٣١"]:
        assert not is_valid_gtin(bad), bad


@given(st.text(alphabet="0123456789", min_size=11, max_size=11).filter(lambda s: s[0] in "01"))
def test_upca_upce_roundtrip(body):
    upca = body + str(check_digit(body))
    upce = upca_to_upce(upca)
    if upce is not None:
        assert upce_to_upca(upce) == upca


@given(st.text(alphabet="0123456789", min_size=12, max_size=12))
def test_gtin14_padding_keeps_validity(body):
    code = body + str(check_digit(body))
    assert to_gtin14(code) == code.zfill(14)
    assert is_valid_gtin(to_gtin14(code))


@given(st.text(alphabet="0123456789", min_size=12, max_size=12), st.integers(0, 12), st.integers(1, 9))
def test_any_single_digit_error_is_detected(body, pos, shift):
    code = body + str(check_digit(body))
    wrong = code[:pos] + str((int(code[pos]) + shift) % 10) + code[pos + 1 :]
    assert not is_valid_gtin(wrong)
