"""Running an SDK test on a newer Python than the suite's, in a venv of its own.

Some Ads SDKs need Python 3.12 or 3.13. The test starts the emulator in this process and
runs the SDK side in a subprocess of the newest interpreter the machine has (pyenv's, when
present), with this project and the SDK installed in a cached venv. Without such an
interpreter the test is skipped, and says why.
"""

from __future__ import annotations

import glob
import json
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap
from typing import Any

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Read at import, before the suite gives each test a HOME of its own: the interpreters and the
# venv cache are the machine's, not the test's.
CACHE = pathlib.Path(os.environ.get("XDG_CACHE_HOME", pathlib.Path.home() / ".cache"))
PYENV_ROOT = pathlib.Path(os.environ.get("PYENV_ROOT") or pathlib.Path.home() / ".pyenv")


def newest_python(minimum: tuple[int, int]) -> str | None:
    """The newest interpreter of at least `minimum`, or None."""
    if sys.version_info >= minimum:
        return sys.executable
    candidates = [shutil.which(f"python3.{n}") for n in range(minimum[1], 20)]
    candidates += sorted(glob.glob(str(PYENV_ROOT / "versions/3.*/bin/python3")))
    found: list[tuple[tuple[int, int], str]] = []
    for path in filter(None, candidates):
        try:
            out = subprocess.run(
                [path, "-c", "import sys; print(*sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=30,
            ).stdout.split()
        except (OSError, subprocess.SubprocessError):
            continue
        if len(out) == 2 and (int(out[0]), int(out[1])) >= minimum:
            found.append(((int(out[0]), int(out[1])), path))
    return max(found)[1] if found else None


def sdk_python(minimum: tuple[int, int], package: str) -> str:
    """A venv's python with this project and `package` installed (cached between runs);
    the test is skipped, with the reason, when no such interpreter exists."""
    interpreter = newest_python(minimum)
    if interpreter is None:
        pytest.skip(f"{package} needs Python >= {minimum[0]}.{minimum[1]}; none on this machine")
    name = f"{package}-{pathlib.Path(interpreter).resolve().parent.parent.name}"
    venv = CACHE / "amazon-ads-auth-sdk-venvs" / name
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([interpreter, "-m", "venv", str(venv)], check=True, timeout=300)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         str(ROOT), package],
        check=True,
        timeout=900,
        capture_output=True,
    )  # fmt: skip
    return str(python)


def run_script(python: str, script: str, **values: Any) -> Any:
    """Run `script` with `values` (JSON) in stdin's place; return the JSON it prints last."""
    result = subprocess.run(
        [python, "-c", textwrap.dedent(script)],
        input=json.dumps(values),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
