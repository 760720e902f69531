"""Debian's Chromium driven by Playwright, for the browser tests and the web benchmark.

Owns: launching ``/usr/bin/chromium`` (never a browser of Playwright's own: ``playwright
install`` is never run) through ``launch_persistent_context`` in a private profile directory;
trusting one test server's certificate by the SPKI hash of its leaf
(``--ignore-certificate-errors-spki-list``), so every other certificate error still fails;
collecting what must fail a test: a Content-Security-Policy violation (a
``securitypolicyviolation`` listener every document gets before its own scripts, and
Chromium's own console report of the refusal, which comes with JavaScript off too) and a
console error or an uncaught exception; and CDP virtual authenticators (WebAuthn domain): add
one (CTAP2, internal, resident keys, user verification), list and add credentials, and copy a
credential to another authenticator to play a cloned one. It knows nothing about hermit's pages.

Resource handling: ``launch(...)`` is a context manager; the browser process, Playwright's
driver and the profile directory are gone when it exits, whatever happened.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from playwright.sync_api import (
    BrowserContext,
    CDPSession,
    ConsoleMessage,
    Error,
    Page,
    Playwright,
    Response,
    sync_playwright,
)

CHROMIUM = Path("/usr/bin/chromium")

# Flags for a quiet, reproducible headless Chromium on a shared CI machine.
_ARGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--password-store=basic",
)

# Runs in every document before its own scripts (Page.addScriptToEvaluateOnNewDocument is not
# subject to the page's CSP). A violation is reported as a console error with a fixed prefix.
CSP_PREFIX = "hermit-test: CSP violation:"
_CSP_LISTENER = (
    "document.addEventListener('securitypolicyviolation', (e) => {"
    f"  console.error({CSP_PREFIX!r} + ' ' + e.effectiveDirective + ' blocked '"
    "    + (e.blockedURI || '(inline)') + ' at ' + e.sourceFile + ':' + e.lineNumber);"
    "});"
)


def spki_hash(chain_pem: Path) -> str:
    """base64(SHA-256(SubjectPublicKeyInfo)) of the first (leaf) certificate of ``chain_pem``:
    what ``--ignore-certificate-errors-spki-list`` takes."""
    leaf = x509.load_pem_x509_certificate(chain_pem.read_bytes())
    spki = leaf.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


@dataclass(frozen=True)
class Problem:
    """Something a page did that fails a test: ``kind`` is csp, console or exception."""

    kind: str
    text: str
    url: str


FAILED_LOAD = "Failed to load resource"


@dataclass
class Collector:
    """Every problem seen in any page of one browser; a test asserts it is empty.

    Not counted: the favicon Chromium asks for by itself (no page names it), and Chromium's
    "Failed to load resource" for a *document* the server answered with an error status: a
    refusal page (a forged form's 403, an unknown page's 404) is the server's answer, which
    the test asserts itself. (Refusals a person can act on, a wrong password among them, are
    200 pages with an alert: docs/decisions.md.) A stylesheet, script or image that fails counts.
    """

    seen: list[Problem] = field(default_factory=list)
    refused_documents: set[str] = field(default_factory=set)

    def attach(self, page: Page) -> None:
        page.on("console", lambda message: self._console(page, message))
        page.on("pageerror", lambda error: self._exception(page, error))
        page.on("response", self._response)

    def _response(self, response: Response) -> None:
        if response.request.resource_type == "document" and response.status >= 400:
            self.refused_documents.add(response.url)

    @property
    def problems(self) -> list[Problem]:
        return [p for p in self.seen
                if not (p.text.startswith(FAILED_LOAD) and p.url in self.refused_documents)]

    def _console(self, page: Page, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        # For a resource that failed to load, the location is the resource's url.
        where = str(message.location.get("url") or page.url)
        if urlsplit(where).path == "/favicon.ico":
            return  # Chromium asks for it by itself; no page named it.
        text = message.text
        # Chromium's own report of a refusal ("... violates the following Content Security
        # Policy directive ..."), which comes with JavaScript off too, or the listener's.
        csp = text.startswith(CSP_PREFIX) or "Content Security Policy" in text
        self.seen.append(Problem("csp" if csp else "console", text, where))

    def _exception(self, page: Page, error: Error) -> None:
        self.seen.append(Problem("exception", f"{error.name}: {error.message}", page.url))

    def take(self) -> list[Problem]:
        """The problems so far, forgetting them (a test that provokes one on purpose)."""
        taken = self.problems
        self.seen = []
        return taken

    def describe(self) -> str:
        return "\n".join(f"{p.kind}: {p.text} ({p.url})" for p in self.problems)


@dataclass
class Browser:
    """A running Chromium: its one persistent context and the problems its pages showed."""

    context: BrowserContext
    collector: Collector
    javascript: bool

    def new_page(self) -> Page:
        """A new tab with the collectors attached."""
        page = self.context.new_page()
        self.collector.attach(page)
        return page

    @property
    def problems(self) -> list[Problem]:
        return self.collector.problems

    def forget_state(self) -> None:
        """Drop cookies and close every tab: the next test starts as a new visitor."""
        self.context.clear_cookies()
        for page in list(self.context.pages):
            page.close()


# The one Playwright driver of this process: its sync API runs an event loop of its own, and a
# second sync_playwright() while one is running is refused; a browser launched while another
# runs (a test's JavaScript-off browser beside its module's) shares the driver.
_driver: list[Playwright] = []


@contextmanager
def _playwright() -> Iterator[Playwright]:
    if _driver:
        yield _driver[0]
        return
    with sync_playwright() as playwright:
        _driver.append(playwright)
        try:
            yield playwright
        finally:
            _driver.clear()


@contextmanager
def launch(spki: str | None, *, javascript: bool = True, host_rules: str | None = None,
           headless: bool = True) -> Iterator[Browser]:
    """Start Chromium trusting the server certificate whose SPKI hash is ``spki``.

    ``javascript=False`` is a browser with JavaScript off (the no-script pages);
    ``host_rules`` is a ``--host-resolver-rules`` value (``MAP name 127.0.0.1``).
    """
    if not CHROMIUM.exists():
        raise FileNotFoundError(f"{CHROMIUM} is missing: apt-get install chromium")
    args = list(_ARGS)
    if spki is not None:
        args.append(f"--ignore-certificate-errors-spki-list={spki}")
    if host_rules is not None:
        args.append(f"--host-resolver-rules={host_rules}")
    profile = Path(tempfile.mkdtemp(prefix="hermit-chromium-"))
    try:
        with _playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                str(profile), executable_path=str(CHROMIUM), headless=headless, args=args,
                java_script_enabled=javascript, locale="en-GB", timezone_id="UTC",
                # The default of Playwright's own launches; a real viewport for the zoom tests.
                viewport={"width": 1280, "height": 800},
            )
            try:
                context.set_default_timeout(15_000)
                if javascript:
                    context.add_init_script(_CSP_LISTENER)
                browser = Browser(context, Collector(), javascript)
                # A persistent context opens with one blank tab: it is closed, every tab of a
                # test comes from new_page() and so has the collectors.
                for page in list(context.pages):
                    page.close()
                yield browser
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@dataclass(frozen=True)
class Authenticator:
    """One CDP virtual authenticator, owned by the tab whose CDP session added it."""

    cdp: CDPSession
    id: str

    def credentials(self) -> list[dict[str, Any]]:
        """Its credentials as CDP gives them (``credentialId`` and ``privateKey`` in standard
        base64, ``rpId``, ``userHandle``, ``signCount``, ``isResidentCredential``)."""
        found = self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.id})
        return list(found["credentials"])

    def add_credential(self, credential: dict[str, Any]) -> None:
        self.cdp.send("WebAuthn.addCredential",
                      {"authenticatorId": self.id, "credential": credential})

    def set_user_verified(self, verified: bool) -> None:
        self.cdp.send("WebAuthn.setUserVerified",
                      {"authenticatorId": self.id, "isUserVerified": verified})

    def clear(self) -> None:
        self.cdp.send("WebAuthn.clearCredentials", {"authenticatorId": self.id})

    def remove(self) -> None:
        self.cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": self.id})

    def copy_to(self, other: Authenticator, *, sign_count: int | None = None) -> dict[str, Any]:
        """Copy this authenticator's (one) credential, private key and all, to ``other``: a
        clone. ``sign_count`` sets the copy's counter (default: the counter it has now).
        Returns the credential as copied."""
        found = self.credentials()
        if len(found) != 1:
            raise ValueError(f"expected one credential to copy, found {len(found)}")
        copied = dict(found[0])
        if sign_count is not None:
            copied["signCount"] = sign_count
        other.add_credential(copied)
        return copied


def add_authenticator(page: Page, *, user_verification: bool = True,
                      user_verified: bool = True, resident_key: bool = True) -> Authenticator:
    """A virtual platform authenticator (CTAP2, internal transport, a face or fingerprint
    reader that always agrees) in ``page``'s tab; presence is simulated, no prompt shows."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": resident_key,
        "hasUserVerification": user_verification, "isUserVerified": user_verified,
        "automaticPresenceSimulation": True,
    }})
    return Authenticator(cdp, str(added["authenticatorId"]))
