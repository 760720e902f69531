"""What a command runs with: the resolved global options and the choice of token.

It does not parse the command line (``main.py`` does) or talk to the server (``client.py``
does); it only decides which url, CA, account and token a command uses.

Rules:
- an option on the command line beats its environment variable (``--url``/``HERMIT_URL``,
  ``--ca``/``HERMIT_CA``, ``--name``/``HERMIT_NAME``);
- the token is ``HERMIT_TOKEN`` when set (an API token replaces login altogether), else the
  stored token for (url, name), else — without a name — the only token stored for the url;
- the url is validated (https only) before anything is sent.

Implements DESIGN.md "Entry points", ``hermit``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO

import httpx

from hermit_cli.client import ApiClient, validate_url
from hermit_cli.errors import NotLoggedIn, UsageError
from hermit_cli.output import Output
from hermit_cli.tokens import StoredToken, TokenStore
from hermit_common.secret import Secret


@dataclass(frozen=True)
class GlobalOptions:
    """The global options as given on the command line (``None`` when not given)."""

    url: str | None
    ca: str | None
    name: str | None
    as_json: bool


@dataclass
class Context:
    options: GlobalOptions
    env: Mapping[str, str]
    out: Output
    store: TokenStore
    stdin: TextIO
    now: Callable[[], datetime]
    # Only unit tests set this (httpx.MockTransport at the transport seam).
    transport: httpx.BaseTransport | None = None

    @property
    def url(self) -> str:
        raw = self.options.url or self.env.get("HERMIT_URL")
        if not raw:
            raise UsageError("no server url: pass --url or set HERMIT_URL")
        return validate_url(raw)

    @property
    def ca(self) -> Path | None:
        raw = self.options.ca or self.env.get("HERMIT_CA")
        return Path(raw) if raw else None

    @property
    def name(self) -> str | None:
        raw = self.options.name or self.env.get("HERMIT_NAME")
        return raw.strip().lower() if raw else None

    def require_name(self) -> str:
        name = self.name
        if not name:
            raise UsageError("no account name: pass --name or set HERMIT_NAME")
        return name

    def anonymous_client(self) -> ApiClient:
        """A client without a token, for the login steps."""
        return ApiClient(self.url, ca=self.ca, transport=self.transport)

    def client(self) -> ApiClient:
        """A client carrying the token this command should use.

        Errors: ``NotLoggedIn`` when there is no token to use; ``UsageError`` when several
        accounts are logged in to the url and no name picks one.
        """
        return ApiClient(self.url, ca=self.ca, token=self.token(), transport=self.transport)

    def token(self) -> Secret:
        api_token = self.env.get("HERMIT_TOKEN")
        if api_token:
            return Secret(api_token)
        stored = self.stored_token()
        if stored is None:
            url, name = self.url, self.name
            as_name = f" as {name}" if name is not None else ""
            raise NotLoggedIn(f"not logged in to {url}{as_name}: run hermit login")
        return stored.token

    def stored_token(self) -> StoredToken | None:
        """The stored token for (url, name), or without a name the only one stored for the url;
        ``None`` when there is none.

        Errors: ``UsageError`` when several accounts are logged in to the url and no name
        picks one.
        """
        url, name = self.url, self.name
        if name is not None:
            return self.store.load(url, name)
        candidates = self.store.for_url(url)
        if len(candidates) > 1:
            names = ", ".join(stored.name for stored in candidates)
            raise UsageError(f"logged in to {url} as {names}: pick one with --name")
        return candidates[0] if candidates else None
