"""Suite-wide rules.

On CI (``CI=true``, set by the CI runner) a skipped test is a failed test: CI installs every
tool the suite needs and runs as root, so a skip there means a check silently did not run.
On a developer's machine a test may still skip for a missing tool or privilege, and says why.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if os.environ.get("CI") == "true" and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped on CI, where every test must run: {report.longrepr}"
