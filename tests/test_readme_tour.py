"""README's tour shows real output: examples/tour.py runs every command it shows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_tour_matches_a_real_run() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "tour.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "18 README block(s) match a real run" in done.stdout


def test_the_tour_check_fails_when_readme_drifts(tmp_path: Path) -> None:
    """The comparison can fail: a changed word in a block is a difference."""
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import tour
    finally:
        sys.path.remove(str(ROOT / "examples"))
    a = "$ modelreg resolve m#production\n0.1.0"
    assert tour.normalised(a) == tour.normalised(a.replace("0.1.0", "0.1.0 "))
    assert tour.normalised(a) != tour.normalised(a.replace("0.1.0", "0.2.0"))
    commit = "committed the registry set-up (0de298aa)"
    assert tour.normalised(commit) == tour.normalised(commit.replace("0de298aa", "50b00bf2"))
