"""The harness itself: gathering a failed test's evidence never hangs on a page that stopped answering."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import _answers, _read

pytestmark = pytest.mark.e2e

# The page's only thread spins for a minute: a renderer that hangs, as one did once on a busy CI runner.
_HANG = "() => { setTimeout(() => { const end = Date.now() + 60000; while (Date.now() < end) {} }, 0); return 1; }"


def test_a_hung_page_is_reported_not_waited_for(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_content("<p>fine</p>")
    assert _answers(page)
    assert _read(page, "() => document.querySelector('p').textContent") == "fine"
    page.evaluate(_HANG)
    assert not _answers(page)
    with pytest.raises(Exception, match="Timeout"):
        _read(page, "() => 1", timeout=1000)
    context.close()
