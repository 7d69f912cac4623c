"""The environment every benchmarked command runs in: its own HOME, git and DVC
configuration, so nothing from the machine's or the user's settings is measured."""

from __future__ import annotations

import os
from pathlib import Path


def isolated_env(home: Path) -> dict[str, str]:
    """This process's environment without git's, DVC's and modelreg's own variables,
    with ``home`` as HOME (a git identity, ``main`` as the first branch, no gc)."""
    home.mkdir(parents=True, exist_ok=True)
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Bench User\n\temail = bench@example.com\n"
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
        "[gc]\n\tauto = 0\n"
    )
    # PYTHONDONTWRITEBYTECODE (set in some shells and images) would make every run of an
    # editable install compile modelreg's sources again (~50 ms a command), which no pip
    # install does; the warm-up run writes the .pyc files as a user's first run would.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GIT_", "DVC_", "MODELREG_"))
        and key not in ("COLUMNS", "PYTHONDONTWRITEBYTECODE")
    }
    env.update(
        HOME=str(home),
        GIT_CONFIG_GLOBAL=str(gitconfig),
        GIT_CONFIG_NOSYSTEM="1",
        XDG_DATA_HOME=str(home / "data"),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_CONFIG_HOME=str(home / "config"),
        DVC_NO_ANALYTICS="1",
        DVC_SITE_CACHE_DIR=str(home / "dvc-site"),
        DVC_GLOBAL_CONFIG_DIR=str(home / "dvc-global"),
        DVC_SYSTEM_CONFIG_DIR=str(home / "dvc-system"),
    )
    return env
