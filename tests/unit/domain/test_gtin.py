from biip.checksums import gs1_standard_check_digit as check_digit
from hypothesis import given
from hypothesis import strategies as st

from store_associate.domain.gtin import is_valid_gtin, upca_to_upce, upce_to_upca


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


def test_upce_is_exactly_eight_ascii_digits():
    # biip's parser strips spaces, reads 6 and 7 digits as a UPC-E without its check digit and accepts
    # any Unicode digit; a scanned code here is the eight digits given or nothing.
    for loose in (" 04252614 ", "0425261", "425261", "٠٤٢٥٢٦١٤", "0425261４"):
        assert upce_to_upca(loose) is None, loose


def test_upca_compression_known_values():
    assert upca_to_upce("042100005264") == "04252614"
    assert upca_to_upce("012345000065") == "01234565"
    assert upca_to_upce("036000291452") is None  # too few zeros to suppress
    assert upca_to_upce("042100005265") is None  # wrong check digit
    # biip would compress number system 2 too; such a UPC-E could never be expanded again.
    assert upca_to_upce("212300000059") is None


def test_rejects_non_digits_and_lengths():
    for bad in ["", "abc", "40063813339３1", "123456789", "400638133393", "1" * 15, "٤٠٠٦٣٨١٣٣٣٩٣١", " 96385074"]:
        assert not is_valid_gtin(bad), bad


@given(st.text(alphabet="0123456789", min_size=11, max_size=11).filter(lambda s: s[0] in "01"))
def test_upca_upce_roundtrip(body):
    upca = body + str(check_digit(body))
    upce = upca_to_upce(upca)
    if upce is not None:
        assert upce_to_upca(upce) == upca


@given(st.sampled_from("01"), st.text(alphabet="0123456789", min_size=6, max_size=6))
def test_every_upce_expands_and_compresses_back(number_system, digits):
    # Exactly one check digit makes a UPC-E valid. A few UPC-As have two UPC-E spellings ("00000030" and
    # "00000000"); compression gives the canonical one, which expands to the same UPC-A.
    valid = [e for e in (number_system + digits + c for c in "0123456789") if upce_to_upca(e)]
    assert len(valid) == 1
    upca = upce_to_upca(valid[0])
    assert upca and upce_to_upca(upca_to_upce(upca) or "") == upca


@given(st.text(alphabet="0123456789", min_size=12, max_size=12))
def test_gtin14_padding_keeps_validity(body):
    code = body + str(check_digit(body))
    assert is_valid_gtin(code) and is_valid_gtin(code.zfill(14))


@given(st.text(alphabet="0123456789", min_size=12, max_size=12), st.integers(0, 12), st.integers(1, 9))
def test_any_single_digit_error_is_detected(body, pos, shift):
    code = body + str(check_digit(body))
    wrong = code[:pos] + str((int(code[pos]) + shift) % 10) + code[pos + 1 :]
    assert not is_valid_gtin(wrong)
