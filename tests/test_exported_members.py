"""The public surface, checked the way httpx checks its own (`tests/test_exported_members.py`):
`__all__` is exactly the package's public names, every name loads and reads as the package's,
the type checkers' imports say the same, and docs/reference.md documents each one."""

from __future__ import annotations

import ast
import importlib
import pathlib
import pickle
import re
import subprocess
import sys
import types

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = [
    "amazon_ads_auth",
    "amazon_ads_auth.web",
    "amazon_ads_auth.testing",
    "amazon_ads_auth.integrations",
    "amazon_ads_auth.mcp",
]
# What a module binds by being written in Python, not by exporting: the `typing` switch and
# the `__future__` feature.
NOT_EXPORTS = {"TYPE_CHECKING", "annotations"}


@pytest.mark.parametrize("name", PACKAGES)
def test_all_public_names_are_exported(name: str) -> None:
    package = importlib.import_module(name)
    for member in package.__all__:
        getattr(package, member)  # every exported name loads
    public = sorted(
        member
        for member, value in vars(package).items()
        if not member.startswith("_")
        and member not in NOT_EXPORTS
        and not isinstance(value, types.ModuleType)
    )
    assert package.__all__ == public
    assert set(dir(package)) >= set(package.__all__)


@pytest.mark.parametrize("name", PACKAGES)
def test_unknown_names_raise_attribute_error(name: str) -> None:
    package = importlib.import_module(name)
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchThing'"):
        package.NoSuchThing  # noqa: B018


@pytest.mark.parametrize("name", PACKAGES)
def test_type_checkers_see_the_same_names(name: str) -> None:
    package = importlib.import_module(name)
    tree = ast.parse(pathlib.Path(package.__file__ or "").read_text())
    checked: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for imp in node.body:
                # The package's own modules (relative imports), not `typing` helpers.
                if isinstance(imp, ast.ImportFrom) and imp.level:
                    for alias in imp.names:
                        assert alias.asname == alias.name, f"{alias.name}: write it `X as X`"
                        checked.add(alias.name)
    assert checked == set(package.__all__)


@pytest.mark.parametrize("name", PACKAGES)
def test_classes_and_functions_read_as_their_package(name: str) -> None:
    package = importlib.import_module(name)
    for member in package.__all__:
        value = getattr(package, member)
        if isinstance(value, (type, types.FunctionType)):
            expected = "amazon_ads_auth" if value.__module__ == "amazon_ads_auth" else name
            assert value.__module__ == expected, member
            assert pickle.loads(pickle.dumps(value)) is value


def test_a_class_first_reached_through_a_private_module_still_reads_as_the_package() -> None:
    """Code that imported a private module first (a plugin, an old import path) still sees
    and pickles the public names."""
    code = (
        "import pickle\n"
        "from amazon_ads_auth._stores.file import FileTokenStore\n"
        "from amazon_ads_auth._errors import InvalidGrantError\n"
        "from amazon_ads_auth.testing._emulator import Emulator\n"
        "import amazon_ads_auth\n"
        "amazon_ads_auth.Token\n"
        "print(FileTokenStore.__module__, Emulator.__module__, InvalidGrantError.__module__)\n"
        "error = InvalidGrantError('x', error='invalid_grant')\n"
        "print(type(pickle.loads(pickle.dumps(error))) is InvalidGrantError)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [
        "amazon_ads_auth",
        "amazon_ads_auth.testing",
        "amazon_ads_auth",
        "True",
    ]


def test_errors_raised_after_importing_only_adsauth_read_as_the_package() -> None:
    code = (
        "from amazon_ads_auth import AdsAuth\n"
        "try:\n"
        "    AdsAuth('', 'secret')\n"
        "except Exception as error:\n"
        "    print(type(error).__module__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "amazon_ads_auth"


def test_importing_the_package_loads_none_of_its_names() -> None:
    code = (
        "import sys, amazon_ads_auth\n"
        "print(sorted(m for m in sys.modules if m.startswith('amazon_ads_auth')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['amazon_ads_auth']"


def documented(package: str) -> set[str]:
    """The members listed under `::: package` in docs/reference.md."""
    text = (ROOT / "docs" / "reference.md").read_text()
    found: set[str] = set()
    for block in re.split(r"^::: ", text, flags=re.M)[1:]:
        heading, _, body = block.partition("\n")
        if heading.strip() == package:
            found |= set(re.findall(r"^\s+- (\w+)\s*$", body, flags=re.M))
    return found


@pytest.mark.parametrize("name", PACKAGES)
def test_every_exported_name_is_in_the_reference(name: str) -> None:
    package = importlib.import_module(name)
    reexported = {
        member
        for member in package.__all__
        if getattr(getattr(package, member), "__module__", name) == "amazon_ads_auth"
        and name != "amazon_ads_auth"
    }  # documented once, under amazon_ads_auth
    assert set(package.__all__) - reexported - documented(name) == set()
    assert documented(name) <= set(package.__all__)


def test_the_version_is_written_once() -> None:
    import importlib.metadata

    import amazon_ads_auth

    setup = (ROOT / "setup.cfg").read_text()
    assert "version = attr: amazon_ads_auth.__version__" in setup
    assert re.search(r"^version\s*=\s*\d", setup, flags=re.M) is None
    assert importlib.metadata.version("amazon-ads-auth") == amazon_ads_auth.__version__
