"""Tests that read documents with the real Tesseract (`ocr` marker), for the whole suite.

They run whenever Debian's `tesseract-ocr` and `tesseract-ocr-fra` are installed; nothing is
imitated (decision 0469). Without them they are deselected with the reason printed, like the
browser tests without Chromium, and they fail with that reason when `MAIRIE_REQUIRE_E2E=1`
(CI, which installs the packages: `.ci/run`). Tests of what happens *without* Tesseract point
`MAIRIE_TESSERACT` at a missing binary and run everywhere.
"""

from __future__ import annotations

import os

import pytest

_DESELECTED = pytest.StashKey[str]()


def _require() -> bool:
    return os.environ.get("MAIRIE_REQUIRE_E2E", "") not in ("", "0")


def tesseract_missing_reason() -> str | None:
    from mairie.crm.ocr import missing_reason

    return missing_reason()  # it says which Debian package to install


def pytest_configure(config):
    config.addinivalue_line("markers", "ocr: reads documents with the real Tesseract (French)")


def pytest_collection_modifyitems(config, items):
    readers = [item for item in items if item.get_closest_marker("ocr") is not None]
    if not readers or _require():
        return
    reason = tesseract_missing_reason()
    if reason is None:
        return
    selected = set(map(id, readers))
    items[:] = [item for item in items if id(item) not in selected]
    config.hook.pytest_deselected(items=readers)
    message = (f"ocr : {len(readers)} tests de lecture de documents désélectionnés — {reason}. "
               "MAIRIE_REQUIRE_E2E=1 les rend obligatoires.")
    config.stash[_DESELECTED] = message
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(message, yellow=True, bold=True)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _DESELECTED in config.stash:
        terminalreporter.write_sep("-", config.stash[_DESELECTED], yellow=True)


@pytest.fixture
def tesseract():
    """Tesseract with French, or a loud failure saying what to install."""
    reason = tesseract_missing_reason()
    if reason is not None:
        pytest.fail(f"Tesseract est requis pour ce test : {reason}", pytrace=False)
