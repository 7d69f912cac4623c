"""README's first command runs examples/quickstart.sh: it works, HTTP step included."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("curl") is None, reason="the HTTP step needs curl")
def test_the_quickstart_runs_and_uses_the_server(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "TMPDIR": str(tmp_path),
    }
    done = subprocess.run(
        ["bash", str(ROOT / "examples" / "quickstart.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert '"tag": "fraud-detector#production#4"' in output  # the promote over HTTP
    assert "promoted over HTTP" in output.split("history fraud-detector --reverse")[1]
    assert list(tmp_path.iterdir()) == []  # the script cleaned up after itself
