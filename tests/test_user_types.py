"""Types for users: after the README's install, a type checker run on a user's own code in
any folder finds `amazon_ads_auth` and its `py.typed`. mypy looks in the site-packages
folders and the folders their `.pth` files name (it does not run import hooks, which is how
setuptools' default editable install finds a flat-layout package); `.ci/run` runs mypy
itself on a script outside the repository."""

from __future__ import annotations

import pathlib
import site
import sys

import amazon_ads_auth


def folders_a_type_checker_searches() -> list[pathlib.Path]:
    """The site-packages folders and every folder a `.pth` file in them names."""
    found: list[pathlib.Path] = []
    for packages in [*site.getsitepackages(), site.getusersitepackages()]:
        base = pathlib.Path(packages)
        if not base.is_dir():
            continue
        found.append(base)
        for pth in sorted(base.glob("*.pth")):
            for line in pth.read_text("utf-8", "replace").splitlines():
                line = line.strip()
                if line and not line.startswith(("#", "import ", "import\t")):
                    found.append((base / line).resolve())
    return found


def test_the_installed_package_is_where_a_type_checker_looks() -> None:
    where = pathlib.Path(amazon_ads_auth.__file__).resolve().parent
    assert (where / "py.typed").is_file()
    searched = folders_a_type_checker_searches()
    assert any((folder / "amazon_ads_auth").resolve() == where for folder in searched), (
        f"{where} is not in a folder mypy searches ({[str(f) for f in searched]}); an "
        "editable install through an import hook hides it: reinstall with "
        f"`{sys.executable} -m pip install -e .` (setup.cfg's package_dir makes it a .pth)"
    )


def test_setup_cfg_keeps_the_editable_install_a_plain_path() -> None:
    import configparser

    config = configparser.ConfigParser()
    config.read(pathlib.Path(__file__).resolve().parent.parent / "setup.cfg")
    assert config["options"]["package_dir"].split() == ["=."]
