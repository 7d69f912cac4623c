"""Where each page is: the server's URLs, or the static report's files.

Model names contain ``/`` (``team/fraud``), so a model's page is ``/m/team/fraud``
and one of its versions ``/m/team/fraud@v0.2.0`` (a version reference, as the CLI
writes it): a link a colleague can paste. The report writes the same pages as
``m/team/fraud.html`` and ``m/team/fraud@v0.2.0.html`` and links them relatively,
so the folder works from disk, GitHub Pages or GitLab Pages alike.
"""

from __future__ import annotations

import posixpath
from urllib.parse import quote, urlencode

_SAFE = "/@"


class Links:
    """The server's links: absolute paths from the site's root."""

    #: the server filters the home page itself; the report leaves it to the script
    filters_on_server = True
    #: writes (sign-in, promote...) exist only on the server
    interactive = True

    def __init__(self, base_url: str | None = None) -> None:
        self.base_url = (base_url or "").rstrip("/")

    def page(self, path: str) -> str:
        return "/" + path

    def home(self, **query: str) -> str:
        query = {k: v for k, v in query.items() if v}
        return "/" + ("?" + urlencode(query) if query else "")

    def static(self, name: str) -> str:
        return self.page("static/" + name)

    def model(self, name: str) -> str:
        return self.page("m/" + quote(name, safe=_SAFE))

    def version(self, name: str, version: str) -> str:
        return self.page("m/" + quote(f"{name}@v{version}", safe=_SAFE))

    def diff(self, name: str, a: str, b: str) -> str | None:
        return self.page("diff?" + urlencode({"a": f"{name}@v{a}", "b": f"{name}@v{b}"}))

    def diff_form(self) -> str | None:
        return self.page("diff")

    def file(self, name: str, version: str, path: str) -> str | None:
        """A file's bytes (the API's ``/v2/models/{model_id}/files/{path}``)."""
        return "/v2/models/" + quote(f"{name}@v{version}", safe=_SAFE) + "/files/" + quote(path)

    def absolute(self, link: str) -> str:
        return self.base_url + link


class ReportLinks(Links):
    """The report's links: file names relative to the page being written."""

    filters_on_server = False
    interactive = False

    def __init__(self, here: str, diffs: frozenset[tuple[str, str, str]] = frozenset()) -> None:
        super().__init__()
        self.here = here
        self.diffs = diffs

    @staticmethod
    def model_file(name: str) -> str:
        return f"m/{name}.html"

    @staticmethod
    def version_file(name: str, version: str) -> str:
        return f"m/{name}@v{version}.html"

    @staticmethod
    def diff_file(name: str, a: str, b: str) -> str:
        return f"diff/{name}@v{a}..v{b}.html"

    def page(self, path: str) -> str:
        relative = posixpath.relpath(path or ".", posixpath.dirname(self.here) or ".")
        return relative

    def home(self, **query: str) -> str:
        return self.page("index.html")

    def model(self, name: str) -> str:
        return quote(self.page(self.model_file(name)), safe=_SAFE + ".")

    def version(self, name: str, version: str) -> str:
        return quote(self.page(self.version_file(name, version)), safe=_SAFE + ".")

    def diff(self, name: str, a: str, b: str) -> str | None:
        if (name, a, b) not in self.diffs:
            return None
        return quote(self.page(self.diff_file(name, a, b)), safe=_SAFE + ".")

    def diff_form(self) -> str | None:
        return None

    def file(self, name: str, version: str, path: str) -> str | None:
        return None  # no server: the page shows `modelreg get` instead

    def absolute(self, link: str) -> str:
        return link
