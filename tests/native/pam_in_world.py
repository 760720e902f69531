"""PAM through Linux-PAM itself inside an end-to-end world (``e2e_world.py``): ``python_pam`` runs
``pam_conversation.py`` in the world's namespace; ``codes`` reads the PAM codes of each step.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from tests.native.e2e_world import World

CONVERSATION = Path(__file__).with_name("pam_conversation.py")
# Linux-PAM's codes (security/_pam_types.h).
PAM_SUCCESS = 0
PAM_PERM_DENIED = 6
PAM_AUTH_ERR = 7
PAM_USER_UNKNOWN = 10


def python_pam(world: World, service: str, user: str, answers: list[str],
               *steps: str) -> dict[str, Any]:
    """pam_conversation.py in the namespace; its JSON answer."""
    request = {"service": service, "user": user, "answers": answers, "steps": list(steps)}
    done = world.run(sys.executable, str(CONVERSATION), stdin=json.dumps(request))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def codes(outcome: dict[str, Any]) -> list[tuple[str, int]]:
    return [(step, code) for step, code, _ in outcome["results"]]

