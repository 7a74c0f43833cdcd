"""The README's code works as written (blocks that need Amazon are only compiled)."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)


def test_every_python_block_compiles() -> None:
    assert len(BLOCKS) >= 3
    for block in BLOCKS:
        compile(block, "README.md", "exec")


def test_emulator_block_runs() -> None:
    block = next(b for b in BLOCKS if "Emulator(clock=clock)" in b)
    exec(compile(block, "README.md", "exec"), {})


def test_first_command_logs_in_against_the_emulator() -> None:
    first = re.findall(r"```sh\n(.*?)```", README, flags=re.S)[0]
    command = first.split("&&")[-1].split()
    assert command[:2] == ["amazon-ads-auth", "login"]
    result = subprocess.run(
        [sys.executable, "-m", "amazon_ads_auth", *command[1:]],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "BROWSER": ""},
    )
    assert result.returncode == 0, result.stderr
    assert "Emulator Demo Store" in result.stdout


def test_demo_example_runs() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "emulator_demo.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert "token requests made: 1" in out


def test_ci_runs_the_readme_test_command() -> None:
    second = re.findall(r"```sh\n(.*?)```", README, flags=re.S)[1]
    command = second.split("&&")[-1].strip().removeprefix("python3 ")
    assert command in (ROOT / ".ci" / "run").read_text()


def test_fault_matrix_table_lists_every_row() -> None:
    from tests.test_fault_matrix import ROWS

    table = README[README.index("### The fault matrix") :]
    for row in ROWS:
        assert f"| {row.name} |" in table, row.name
