"""``/v1/system``: settings of the whole system; today the password badlist (docs/api.md
"System").

The handlers read their bodies (JSON types only) and call ``Idm.change_badlist`` (which
validates the words) or read ``idmd.idm.policy.badlist`` as the caller; the access profiles
let only ``system_admins`` read or change the list. Words are sent and shown casefolded;
adding a word that is there, or removing one that is not, changes nothing (``changed: false``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from idmd import limits
from idmd.https.bodies import Body, texts
from idmd.https.inputs import caller_of, idm_of
from idmd.https.routing import Handler, resource
from idmd.idm.policy import badlist

WORDS = Body(
    {
        "words": texts(
            items={"type": "string", "minLength": 1, "maxLength": limits.MAX_TEXT_LEN},
            maxItems=limits.MAX_BADLIST_WORDS,
        )
    }
)


async def show_badlist(request: Request) -> JSONResponse:
    caller = caller_of(request)
    words = idm_of(request).read(caller, badlist.list_words)
    return JSONResponse({"words": words, "count": len(words)})


def _change_badlist(add: bool) -> Handler:
    async def change(request: Request) -> JSONResponse:
        caller = caller_of(request)
        body = await WORDS.read(request)
        changed, count = idm_of(request).change_badlist(caller, body["words"], add=add)
        return JSONResponse({"changed": changed, "count": count})

    return change


ROUTES = [
    resource("/v1/system/pw_badlist", GET=show_badlist, POST=_change_badlist(add=True)),
    resource("/v1/system/pw_badlist/remove", POST=_change_badlist(add=False)),
]
