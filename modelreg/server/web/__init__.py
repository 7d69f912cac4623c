"""The web page: the registry for people, on ``modelreg serve`` and as static HTML.

One set of pages, two ways to deliver them:

- :mod:`.views`   the library's reads (the same ones the API answers with) → what a
                  page shows, as the JSON documents :mod:`modelreg.serialize` makes
                  plus a few derived fields; no HTTP, no HTML
- :mod:`.links`   where a page is: the server's clean URLs (``/m/team/fraud@v0.2.0``)
                  or the report's relative file names (``m/team/fraud@v0.2.0.html``)
- :mod:`.charts`  metrics across versions as SVG drawn here (no chart library, no
                  JavaScript needed to see them)
- :mod:`.pages`   Jinja2 templates → HTML text
- :mod:`.routes`  the server's pages (Starlette; only ``serve`` imports it)
- :mod:`.report`  ``modelreg report -o DIR``: every page as a file, links relative

``templates/`` and ``static/`` (CSS and a little vanilla JavaScript: the pages work
without it) ship inside the wheel; there is no build step and nothing from npm.
"""
