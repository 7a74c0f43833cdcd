"""The shape of the package, checked against its own source: no import circles, small
modules, a decisions module with no I/O in it, public names that read as the package's, and
public methods that say what they raise."""

from __future__ import annotations

import ast
import inspect
import pathlib
import pickle

import pytest

import amazon_ads_auth

PACKAGE = pathlib.Path(amazon_ads_auth.__file__).resolve().parent


def module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: pathlib.Path) -> set[str]:
    """Every package module `path` imports, at any depth (function bodies, TYPE_CHECKING)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("amazon_ads_auth"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if not target.startswith("amazon_ads_auth"):
                continue
            found.add(target)
            for alias in node.names:  # `from . import _token_http` names a module
                candidate = f"{target}.{alias.name}"
                if candidate in MODULES:
                    found.add(candidate)
    return {m for m in found if m in MODULES and m != name}


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def test_no_import_circles() -> None:
    graph = {name: imports_of(path) for name, path in MODULES.items()}
    # A package imports its own modules to re-export them; that is not a circle.
    for name in graph:
        graph[name] = {m for m in graph[name] if not name.startswith(m + ".") and m != name}
    circles = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                circles.append([*trail[trail.index(nxt) :], nxt] if nxt in trail else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert circles == []


# The rooms, lowest first: a module may import its own room and rooms below it, never above.
GROUND = {"_errors", "_token", "_regions", "_urls", "_redact", "_limits", "_locks"}
LAYERS = {
    "ground": 0,
    "_lwa": 1,
    "_stores": 1,
    "_refresh": 2,
    "_logins": 3,
    "_auth": 4,
    "integrations": 5,
    "_ops": 5,
    "web": 6,
    "mcp": 6,
    "otel": 6,
    "cli": 7,  # above mcp: `amazon-ads-auth mcp` is the MCP room's command line
    "testing": 8,
    "package": 9,  # amazon_ads_auth/__init__.py and __main__.py: the front doors
}


# The faces' own front doors take the package's export helper (`_export_lazily`): Python
# has run the package's __init__ before any module in it, so this is no circle.
FACE_DOORS = {
    "amazon_ads_auth.web",
    "amazon_ads_auth.testing",
    "amazon_ads_auth.integrations",
    "amazon_ads_auth.mcp",
}


def room_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in {"__main__"}:
        return "package"
    if parts[1] in GROUND:
        return "ground"
    return parts[1]


def upward_imports() -> set[tuple[str, str]]:
    found = set()
    for name, path in MODULES.items():
        here = LAYERS[room_of(name)]
        for target in imports_of(path):
            if room_of(target) == room_of(name):
                continue
            if name == "amazon_ads_auth.cli.sandbox" and room_of(target) == "testing":
                continue  # the sandbox loads the emulator, inside functions, for --emulator
            if name in FACE_DOORS and target == "amazon_ads_auth":
                continue  # the package's export helper (the package is loaded before them)
            if LAYERS[room_of(target)] >= here:
                found.add((name, target))
    return found


def test_top_level_holds_only_the_ground_and_the_rooms() -> None:
    import pkgutil

    names = {m.name for m in pkgutil.iter_modules(amazon_ads_auth.__path__)}
    rooms = {"_lwa", "_stores", "_refresh", "_logins", "_auth", "_ops", "cli", "web", "testing"}
    assert names - {"__main__", "integrations", "mcp", "otel"} == GROUND | rooms


def test_rooms_import_only_rooms_below_them() -> None:
    assert upward_imports() == set()


def test_the_layering_test_fails_on_a_planted_upward_import(tmp_path: pathlib.Path) -> None:
    planted = PACKAGE / "_stores" / "planted_upward.py"
    planted.write_text("from .._auth.adsauth import AdsAuth  # noqa\n")
    try:
        MODULES["amazon_ads_auth._stores.planted_upward"] = planted
        assert ("amazon_ads_auth._stores.planted_upward", "amazon_ads_auth._auth.adsauth") in (
            upward_imports()
        )
    finally:
        MODULES.pop("amazon_ads_auth._stores.planted_upward", None)
        planted.unlink()


def test_decisions_import_only_the_token_and_the_standard_library() -> None:
    tree = ast.parse((PACKAGE / "_refresh" / "decisions.py").read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add("." * node.level + (node.module or ""))
    assert imported <= {
        "__future__",
        "dataclasses",
        "enum",
        "collections.abc",
        "._token",
        ".._token",
    }


# The CLI's sandbox module is the one place that reaches the emulator, inside functions.
CLI_SANDBOX = {"amazon_ads_auth.cli.sandbox"}  # loads it only for --emulator / `emulator`


def test_production_never_imports_the_testing_package() -> None:
    for name, path in MODULES.items():
        if not name.startswith("amazon_ads_auth.testing") and name not in CLI_SANDBOX:
            assert not any(m.startswith("amazon_ads_auth.testing") for m in imports_of(path)), name


@pytest.mark.parametrize("name", amazon_ads_auth.__all__)
def test_public_names_read_as_the_package_and_pickle(name: str) -> None:
    public = getattr(amazon_ads_auth, name)
    if not isinstance(public, type):
        return
    assert public.__module__ == "amazon_ads_auth"
    assert pickle.loads(pickle.dumps(public)) is public


def test_errors_and_values_pickle_by_their_public_name() -> None:
    error = amazon_ads_auth.InvalidGrantError("log in again", error="invalid_grant")
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is amazon_ads_auth.InvalidGrantError and str(again) == str(error)
    token = amazon_ads_auth.Token("Atza|a", "Atzr|r", 1.0)
    assert pickle.loads(pickle.dumps(token)) == token
    assert repr(amazon_ads_auth.Region.NA).startswith("<Region.NA")


RAISING_METHODS = [
    ("AdsAuth", "__init__"),
    ("AdsAuth", "from_env"),
    ("AdsAuth", "from_login"),
    ("AdsAuth", "from_oauth2_session"),
    ("AdsAuth", "refresh"),
    ("AdsAuth", "ensure_token"),
    ("AdsAuth", "headers"),
    ("AdsAuth", "async_headers"),
    ("AdsAuth", "async_ensure_token"),
    ("AdsAuth", "import_token"),
    ("AdsAuth", "logout"),
    ("AdsAuth", "fetch_token"),
    ("AdsAuth", "authorization_request"),
    ("LoginDirectory", "auth"),
    ("LoginDirectory", "refresh_profiles"),
    ("LoginDirectory", "auth_for"),
]


@pytest.mark.parametrize(("cls", "method"), RAISING_METHODS)
def test_public_methods_that_raise_say_what(cls: str, method: str) -> None:
    doc = inspect.getdoc(getattr(getattr(amazon_ads_auth, cls), method)) or ""
    assert "Raises:" in doc


def test_importing_the_library_or_the_cli_never_loads_the_emulator() -> None:
    import subprocess
    import sys

    code = (
        "import sys, amazon_ads_auth, amazon_ads_auth.cli\n"
        "print(sorted(m for m in sys.modules if m.startswith('amazon_ads_auth.testing')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


FRAMEWORKS = ("starlette", "fastapi", "flask", "werkzeug", "django", "uvicorn")


def test_the_web_flow_imports_no_web_framework() -> None:
    import subprocess
    import sys

    # Nor an HTTP library until the callback needs one: begin() is pure.
    loaded_late = ("requests", "httpx", "httpcore")
    code = (
        "import sys, amazon_ads_auth.web\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FRAMEWORKS + loaded_late!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    # Only the adapters name a framework, each its own.
    for name, path in MODULES.items():
        framework = _top_level_imports(path) & set(FRAMEWORKS)
        if name == "amazon_ads_auth.web.starlette":
            assert framework == {"starlette"}
        elif name == "amazon_ads_auth.web.flask":
            assert framework == {"flask", "werkzeug"}
        elif name == "amazon_ads_auth.mcp.proxy":
            assert framework == {"uvicorn"}  # the loopback proxy's server, inside a function
        else:
            assert framework == set(), name


def _top_level_imports(path: pathlib.Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_the_web_flow_is_small_modules() -> None:
    # One concept a module (the layering test above replaced the line budget).
    web = {p.name for p in (PACKAGE / "web").glob("*.py")}
    assert web >= {"_flow.py", "_checks.py", "_cookie.py", "_replies.py"}


@pytest.mark.parametrize(("cls", "method"), [("ConsentFlow", "begin"), ("ConsentFlow", "complete")])
def test_the_web_flow_says_what_it_raises(cls: str, method: str) -> None:
    import amazon_ads_auth.web

    doc = inspect.getdoc(getattr(getattr(amazon_ads_auth.web, cls), method)) or ""
    assert "Raises:" in doc


def test_web_names_read_as_their_package_and_pickle() -> None:
    import amazon_ads_auth.web

    for name in amazon_ads_auth.web.__all__:
        public = getattr(amazon_ads_auth.web, name)
        assert pickle.loads(pickle.dumps(public)) is public
    assert amazon_ads_auth.web.ConsentFlow.__module__ == "amazon_ads_auth.web"
