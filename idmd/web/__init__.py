"""hermit's web front door: the server-rendered pages under ``/ui/`` (DESIGN.md "The web
front door and SSO") and the security headers of every idmd answer.

A second door over the identity layer, beside the REST API (``idmd/https``): the pages call the
same ``Idm`` methods (``Idm.login``, ``Idm.credential_updates``) and show their refusals; no
rule about accounts or credentials is written here. ``mount`` puts the door in front of the
API's app.

Modules:
- ``app.py``: the web app (routes, error pages, body bounds) and ``mount``;
- ``door.py``: per-process state (templates, CSRF key), the visitor, rendering;
- ``signin.py``: sign-in, reauth, sign-out, the applications page;
- ``selfservice.py``: the credentials page, reset tokens, the person's own sessions;
- ``cookies.py``, ``csrf.py``, ``forms.py``, ``headers.py``: the cookies, the POST guard,
  bounded forms, the headers middleware;
- ``templates/`` (Jinja2) and ``static/`` (one CSS file, one script for the passkey
  ceremonies only).

docs/web.md describes the pages, cookies, CSRF, headers and running behind a reverse proxy.
"""

from __future__ import annotations

from idmd.web.app import mount

__all__ = ["mount"]
