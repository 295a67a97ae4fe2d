"""ScanAcceptor: stable frames, check digits, the repeat window, count-again and keyboard wedges.

The clock is a plain variable the tests move forward: no sleeps."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from biip.checksums import gs1_standard_check_digit as check_digit
from hypothesis import given
from hypothesis import strategies as st

from store_associate.scan.accept import Accepted, ScanAcceptor


@dataclass(frozen=True)
class R:
    text: str
    symbology: str = "ean13"


EAN = R("4006381333931")
OTHER = R("5901234123457")
QR = R("https://example.com/x", "qrcode")


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def acc(clock) -> ScanAcceptor:
    return ScanAcceptor(required_frames=2, repeat_window_s=3.0, clock=clock)


def frames(acc: ScanAcceptor, clock: Clock, *frame_results, dt: float = 0.05) -> list[Accepted | None]:
    out = []
    for results in frame_results:
        out.append(acc.feed(results))
        clock.t += dt
    return out


def test_one_frame_is_not_enough_two_stable_frames_are(acc, clock):
    first, second = frames(acc, clock, [EAN], [EAN])
    assert first is None
    assert second == Accepted(EAN.text, "ean13", "camera", repeat=False, at=second.at)
    assert second.at == pytest.approx(1000.05)


def test_a_frame_without_the_code_restarts_the_count(acc, clock):
    assert frames(acc, clock, [EAN], [], [EAN]) == [None, None, None]
    assert frames(acc, clock, [EAN])[0] is not None


def test_a_different_text_on_the_next_frame_is_not_stable(acc, clock):
    # Two different reads of the same label in a row: one of them is a misread, accept neither yet.
    assert frames(acc, clock, [EAN], [OTHER], [EAN]) == [None, None, None]


def test_a_code_staying_in_view_is_reported_once(acc, clock):
    results = frames(acc, clock, *[[EAN]] * 40)
    assert [r for r in results if r is not None] == [results[1]]


def test_required_frames_is_configurable(clock):
    one = ScanAcceptor(required_frames=1, clock=clock)
    assert one.feed([QR]) is not None
    three = ScanAcceptor(required_frames=3, clock=clock)
    assert frames(three, clock, [QR], [QR])[-1] is None
    assert three.feed([QR]) is not None


def test_gtin_with_wrong_check_digit_never_counts(acc, clock):
    bad = R("4006381333932")
    assert frames(acc, clock, *[[bad]] * 5) == [None] * 5
    bad_upce = R("04252613", "upce")
    assert frames(acc, clock, *[[bad_upce]] * 5) == [None] * 5
    assert frames(acc, clock, [R("04252614", "upce")], [R("04252614", "upce")])[-1] is not None


@given(body=st.text("0123456789", min_size=12, max_size=12), wrong=st.integers(1, 9))
def test_property_no_wrong_check_digit_is_ever_accepted(body, wrong):
    acc = ScanAcceptor(required_frames=2, clock=Clock())
    bad = R(body + str((check_digit(body) + wrong) % 10))
    assert all(acc.feed([bad]) is None for _ in range(4))
    good = R(body + str(check_digit(body)))
    assert acc.feed([good]) is None and acc.feed([good]) is not None


def test_non_gtin_symbologies_are_not_check_digit_tested(acc, clock):
    digits_in_qr = R("4006381333932", "qrcode")
    assert frames(acc, clock, [digits_in_qr], [digits_in_qr])[-1].text == "4006381333932"


def test_same_code_again_within_the_window_is_a_repeat(acc, clock):
    assert frames(acc, clock, [EAN], [EAN])[-1].repeat is False
    frames(acc, clock, [], [])  # the label leaves the view
    clock.t += 2.0
    again = frames(acc, clock, [EAN], [EAN])[-1]
    assert again is not None and again.repeat is True


def test_same_code_after_the_window_is_a_new_scan(acc, clock):
    frames(acc, clock, [EAN], [EAN], [])
    clock.t += 3.5
    assert frames(acc, clock, [EAN], [EAN])[-1].repeat is False


def test_window_runs_from_when_the_code_was_last_seen(acc, clock):
    frames(acc, clock, [EAN], [EAN])
    frames(acc, clock, *[[EAN]] * 50, dt=0.1)  # 5 s in view: still the same scan
    frames(acc, clock, [])
    clock.t += 1.0
    assert frames(acc, clock, [EAN], [EAN])[-1].repeat is True


def test_count_again_makes_the_next_read_a_new_scan(acc, clock):
    frames(acc, clock, [EAN], [EAN], [])
    acc.count_again()
    assert frames(acc, clock, [EAN], [EAN])[-1].repeat is False


def test_count_again_with_the_label_still_in_view_needs_fresh_stable_frames(acc, clock):
    frames(acc, clock, [EAN], [EAN], [EAN])
    acc.count_again()
    first, second = frames(acc, clock, [EAN], [EAN])
    assert first is None
    assert second is not None and second.repeat is False
    assert frames(acc, clock, [EAN])[0] is None  # and only once


def test_other_codes_are_not_repeats(acc, clock):
    frames(acc, clock, [EAN], [EAN], [])
    assert frames(acc, clock, [OTHER], [OTHER])[-1].repeat is False


def test_two_codes_stable_together_are_reported_one_per_frame(acc, clock):
    results = frames(acc, clock, [EAN, QR], [EAN, QR], [EAN, QR], [EAN, QR])
    assert [r.text if r else None for r in results] == [None, EAN.text, QR.text, None]


def test_duplicates_within_a_frame_count_once(acc, clock):
    assert acc.feed([EAN, EAN]) is None
    assert acc.feed([EAN]) is not None


def test_keyboard_wedge_is_accepted_at_once(acc, clock):
    got = acc.feed_keyboard("4006381333931\r\n")
    assert got == Accepted("4006381333931", None, "keyboard", repeat=False, at=clock.t)


def test_keyboard_repeat_and_count_again(acc, clock):
    acc.feed_keyboard("ABC-1")
    clock.t += 1.0
    assert acc.feed_keyboard("ABC-1").repeat is True
    acc.count_again()
    assert acc.feed_keyboard("ABC-1").repeat is False
    clock.t += 10
    assert acc.feed_keyboard("ABC-1").repeat is False


def test_keyboard_then_camera_of_the_same_label_is_a_repeat(acc, clock):
    acc.feed_keyboard(EAN.text)
    clock.t += 0.5
    assert frames(acc, clock, [EAN], [EAN])[-1].repeat is True


@pytest.mark.parametrize(
    ("typed", "text", "symbology", "aim"),
    [
        ("]E04006381333931", "4006381333931", "ean13", "]E0"),
        ("]E0036000291452", "036000291452", "upca", "]E0"),
        ("]E004252614", "04252614", "upce", "]E0"),
        ("]E496385074", "96385074", "ean8", "]E4"),
        ("]C10109501101530003\x1d10ABC", "0109501101530003\x1d10ABC", "code128", "]C1"),
        ("]Q1hello", "hello", "qrcode", "]Q1"),
        ("]X0odd", "odd", None, "]X0"),
    ],
)
def test_keyboard_aim_prefix_is_split_off(acc, typed, text, symbology, aim):
    got = acc.feed_keyboard(typed)
    assert (got.text, got.symbology, got.aim) == (text, symbology, aim)


@pytest.mark.parametrize("typed", ["", "\r\n", "]E04006381333932", "]E4123", "]E0"])
def test_keyboard_rejects_empty_and_bad_gtins(acc, typed):
    assert acc.feed_keyboard(typed) is None


def test_keyboard_keeps_spaces_that_belong_to_the_code(acc):
    assert acc.feed_keyboard(" WWW.CITRONSOFT.COM \n").text == " WWW.CITRONSOFT.COM "


def test_reset_forgets_streaks_and_repeats(acc, clock):
    frames(acc, clock, [EAN], [EAN])
    acc.feed([EAN])
    acc.reset()
    assert acc.feed([EAN]) is None
    assert acc.feed([EAN]).repeat is False


@pytest.mark.parametrize(
    ("kwargs", "match"), [({"required_frames": 0}, "required_frames"), ({"repeat_window_s": -1}, "repeat")]
)
def test_invalid_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ScanAcceptor(**kwargs)


def test_works_with_decode_results(make):
    from store_associate.scan import decode_frame

    frame = make.linear("ean13", "400638133393")
    acc = ScanAcceptor(clock=Clock())
    assert acc.feed(decode_frame(frame)) is None
    got = acc.feed(decode_frame(frame))
    assert (got.text, got.symbology, got.aim, got.source) == ("4006381333931", "ean13", "]E0", "camera")
