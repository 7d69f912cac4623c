"""The operations, one module per group, each bound into :class:`~modelreg.registry.Registry`.

Each module defines plain functions whose first argument is the registry
(``self``), as DVC's ``dvc/repo/<op>.py`` do; ``Registry`` binds them in its
class body, so ``Registry(".").promote(...)`` runs :func:`stages.promote`.
A module imports what only it needs (DVC, gates, journals) where it starts,
and is itself imported only when one of its operations is first looked up
(:func:`lazy`): ``modelreg resolve`` loads ``read`` and none of the others.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any


class _Operation:
    """``Registry.<attr>``: ``ops.<module>.<name>``, the module imported on the first
    look-up, which then puts the function itself on the class (so the next look-up
    is a plain attribute, and ``Registry.promote is ops.stages.promote``)."""

    def __init__(self, module: str, name: str, of_class: bool = False) -> None:
        self.module, self.name, self.of_class, self.attr = module, name, of_class, name

    def __set_name__(self, owner: type, attr: str) -> None:
        self.attr = attr

    def on_class(self) -> _Operation:
        """The same operation as a classmethod (``Registry.init``)."""
        return _Operation(self.module, self.name, of_class=True)

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        owner = owner if owner is not None else type(obj)
        function = getattr(import_module(f"{__name__}.{self.module}"), self.name)
        bound = classmethod(function) if self.of_class else function
        # Only while it is still ours: a test's monkeypatch put there stays.
        if owner.__dict__.get(self.attr) is self:
            setattr(owner, self.attr, bound)
        return bound.__get__(obj, owner)


class _Module:
    """Stands for an ops module in ``Registry``'s class body: ``lazy("read").show``
    is the operation, still unimported."""

    def __init__(self, module: str) -> None:
        self._module = module

    def __getattr__(self, name: str) -> _Operation:
        return _Operation(self._module, name)


def lazy(module: str) -> Any:
    """``ops.<module>``, imported when one of its operations is first looked up."""
    return _Module(module)
