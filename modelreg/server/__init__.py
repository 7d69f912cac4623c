"""The registry over HTTP: ``modelreg serve``, the second face of the library.

Nothing here is imported by the CLI's other commands (Starlette and uvicorn cost
~100 ms to import; only ``serve`` pays). The layout mirrors the CLI's:

- :mod:`.app`      builds the Starlette application from the route lists below
- :mod:`.http`     the face's words: JSON answers, the error document, request bodies
- :mod:`.refs`     ``/v2/models/{model_id}/...`` paths → a version reference and an action
- :mod:`.api`      the founding endpoints and the lifecycle: each route is one
                   library operation and one :mod:`modelreg.serialize` call
- :mod:`.files`    bytes in and out: upload, register from uploads, a version's
                   files (``ETag``, ``Range``) and its archive
- :mod:`.uploads`  the upload area: bodies by their sha256, staged for register,
                   swept when old
- :mod:`.auth`     who is asking (tokens) and whether they may
- :mod:`.cache`    answers kept while the refs they were computed from are unchanged
- :mod:`.run`      listening: loopback rules, uvicorn, graceful shutdown
- :mod:`.watch`    between requests: ``--sync`` catch-up, noticing new events,
                   delivering webhooks (:mod:`modelreg.webhooks`)

A request builds its own :class:`~modelreg.registry.Registry` (as GTO's ``api``
does): no mutable state is shared between requests beyond caches keyed by the
refs they were read from.
"""
