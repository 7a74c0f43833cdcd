"""Running an SDK test on a newer Python than the suite's, in a venv of its own.

Some Ads SDKs need Python 3.12 or 3.13. The test starts the emulator in this process and
runs the SDK side in a subprocess of a venv on the newest interpreter the machine has
(pyenv's, when present), with the SDK and this project's dependencies installed, and this
checkout's source first on its path. The venvs are prepared before the suite, never during
it (no test installs anything):

    python -m tests.newer_python        # what .ci/run does; again after changing SDKS

A test whose venv is missing is skipped with that hint (with REQUIRE_TEST_SERVERS=1, as
.ci/run sets, it fails); without a new enough interpreter it is skipped, saying why.
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
VENVS = ROOT / ".sdk-venvs"  # in the checkout (git-ignored), whatever HOME a test has
PYENV_ROOT = pathlib.Path(os.environ.get("PYENV_ROOT") or pathlib.Path.home() / ".pyenv")

# The SDKs tested in a venv of their own, with the lowest Python each needs.
SDKS = {
    "amazon-ads-api-v1==0.11.0": (3, 13),
    "amazon-ads-api==1.0.0": (3, 12),
}
PREPARE = "python -m tests.newer_python"


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


def venv_of(package: str) -> pathlib.Path:
    return VENVS / package.replace("==", "-")


def prepare(package: str) -> pathlib.Path | None:
    """Make (or refresh) the venv for `package`: the SDK and this project's dependencies.
    None when the machine has no interpreter new enough."""
    interpreter = newest_python(SDKS[package])
    if interpreter is None:
        return None
    venv = venv_of(package)
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([interpreter, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         str(ROOT), package],
        check=True,
    )  # fmt: skip
    (venv / "prepared-for").write_text(package)
    return python


def sdk_python(package: str) -> str:
    """The prepared venv's python for `package` (one of SDKS); the test is skipped, saying
    how to prepare it, when it is missing."""
    minimum = SDKS[package]
    python = venv_of(package) / "bin" / "python"
    stamp = venv_of(package) / "prepared-for"
    if python.exists() and stamp.exists() and stamp.read_text() == package:
        return str(python)
    if newest_python(minimum) is None:
        pytest.skip(f"{package} needs Python >= {minimum[0]}.{minimum[1]}; none on this machine")
    hint = f"the venv for {package} is not prepared: run `{PREPARE}`"
    if os.environ.get("REQUIRE_TEST_SERVERS") == "1":
        pytest.fail(f"{hint} (.ci/run does it before the suite)")
    pytest.skip(hint)


def run_script(python: str, script: str, **values: Any) -> Any:
    """Run `script` with `values` (JSON) in stdin's place; return the JSON it prints last."""
    # This checkout's source, not the copy pip installed when the venv was prepared.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [python, "-c", textwrap.dedent(script)],
        input=json.dumps(values),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    for sdk in SDKS:
        made = prepare(sdk)
        print(f"{sdk}: {made or 'no Python new enough on this machine; its test will skip'}")
