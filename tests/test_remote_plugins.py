"""A remote whose DVC plugin is not installed names the package to install: this
package's extra for the plugins it declares, the plugin itself otherwise. The
plugin is hidden from a real modelreg process (no server is needed: the error
comes before any connection)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from modelreg import Registry

from .conftest import FileMaker, git

HIDE_AND_RUN = (
    "import sys\n"
    "for name in sys.argv.pop(1).split(','):\n"
    "    sys.modules[name] = None  # import fails as if not installed\n"
    "from modelreg.cli import main\n"
    "main()\n"
)


@pytest.mark.parametrize(
    ("url", "hidden", "plugin", "hint"),
    [
        ("s3://bucket/store", "dvc_s3", "dvc-s3", "pip install 'modelreg[s3]'"),
        ("ssh://user@host/store", "dvc_ssh", "dvc-ssh", "pip install 'modelreg[ssh]'"),
        ("oss://bucket/store", "", "dvc-oss", "pip install 'dvc-oss'"),
    ],
)
def test_a_missing_plugin_names_what_to_install(
    url: str, hidden: str, plugin: str, hint: str, tmp_path: Path, files: FileMaker
) -> None:
    reg, _ = Registry.init(tmp_path / "reg", remote=url)
    reg.register("m", [files()])
    git(tmp_path, "init", "-q", "--bare", str(tmp_path / "origin.git"))
    git(reg.root, "remote", "add", "origin", str(tmp_path / "origin.git"))
    done = subprocess.run(
        [sys.executable, "-c", HIDE_AND_RUN, hidden or "-", "-C", str(reg.root), "push"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done
    assert f"needs the plugin {plugin}, which is not installed" in done.stderr
    assert f"(hint: {hint})" in done.stderr
    assert len(done.stderr.splitlines()) == 1
