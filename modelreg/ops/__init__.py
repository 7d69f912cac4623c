"""The operations, one module per group, each bound into :class:`~modelreg.registry.Registry`.

Each module defines plain functions whose first argument is the registry
(``self``), as DVC's ``dvc/repo/<op>.py`` do; ``Registry`` binds them in its
class body, so ``Registry(".").promote(...)`` runs :func:`stages.promote`.
A module imports what only it needs (DVC, gates, journals) where it starts,
so that reads stay fast.
"""
