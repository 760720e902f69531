"""hermit-idmd's REST API (docs/api.md): Starlette routes over ``idmd.idm``.

Modules: ``app`` builds the application; ``errors`` is the only mapping of ``HermitError`` to
responses; ``inputs`` reads bodies and bearer tokens; one route module per resource (``auth``,
``accounts``, ``groups``, ``unix``); ``openapi`` is the machine-readable contract served at
``/v1/openapi.json``. Nothing here decides access or touches storage: the idm layer does.
"""
