"""The README works as written: its set-up commands, its size, and the docs' examples it
points to (every Python block of both runs in `tests/test_docs.py`)."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

from tests.docs_text import PAGES, blocks

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)
DOC_BLOCKS = [b.code for page in PAGES for b in blocks(page)]


def test_every_python_block_compiles() -> None:
    assert len(BLOCKS) >= 3
    for block in BLOCKS:
        compile(block, "README.md", "exec")


def test_the_readme_is_short() -> None:
    assert len(README.splitlines()) <= 200
    assert "## Layout" not in README
    assert len(BLOCKS) == 3


def test_store_contract_block_runs(capsys: object) -> None:
    block = next(b for b in DOC_BLOCKS if "check_token_store" in b)
    exec(compile(block, "README.md", "exec"), {})
    assert "lock excludes processes" in capsys.readouterr().out  # type: ignore[attr-defined]


def test_emulator_block_runs() -> None:
    block = next(b for b in DOC_BLOCKS if "Emulator(clock=clock)" in b)
    exec(compile(block, "README.md", "exec"), {})


def test_first_commands_log_in_against_the_emulator_then_find_the_login(
    tmp_path: pathlib.Path,
) -> None:
    lines = re.findall(r"```sh\n(.*?)```", README, flags=re.S)[0].strip().splitlines()
    commands = [lines[0].split("&&")[-1].split(), *(line.split() for line in lines[1:])]
    assert [c[:2] for c in commands] == [["amazon-ads-auth", c[1]] for c in commands]
    assert commands[0][1] == "login"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AMAZON_ADS_", "XDG_"))},
        "BROWSER": "",
        "HOME": str(tmp_path),
    }
    outputs = []
    for command in commands:
        result = subprocess.run(
            [sys.executable, "-m", "amazon_ads_auth", *command[1:]],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert result.returncode == 0, (command, result.stderr)
        outputs.append(result.stdout)
    assert "Emulator Demo Store" in outputs[0]
    assert "Authorization: Bearer Atza|" in outputs[-1]
    sandbox = next(b for b in DOC_BLOCKS if "Sandbox()" in b)
    ran = subprocess.run(
        [sys.executable, "-c", sandbox], capture_output=True, text=True, timeout=120, env=env
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "3141592653589793"


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
