"""Named points in each write where tests can make modelreg fail or die.

``MODELREG_FAULT=register:after-commit`` makes that checkpoint raise an
:class:`InjectedFault`; ``MODELREG_FAULT=register:after-commit:kill`` makes the
process kill itself with SIGKILL there, as a crash or an OOM killer would. Unset
(always, outside tests), a checkpoint is one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

from .errors import ModelregError

ENV = "MODELREG_FAULT"


class InjectedFault(ModelregError):
    """A failure a test asked for at a checkpoint."""


def checkpoint(name: str) -> None:
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    if wanted == name:
        raise InjectedFault(f"injected fault at {name}")
    if wanted == f"{name}:kill":
        os.kill(os.getpid(), signal.SIGKILL)
