"""Settings are read at the edges (docs/architecture.md, "Settings"): the web app, the bot, the
command line and the due work hold the process's `Settings` and pass it on; a use case takes
`settings` when a rule needs one, and core, billing, kitchen and routing take the values they
need as arguments. A test, a second app or the chat's `Turn` that passes other settings is then
obeyed all the way down, instead of core reading the process's own behind its back.

Below the surfaces `get_settings()` is read only for what one process must not have two of
(KEYS). A new read fails this test."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BELOW_THE_SURFACES = ["core", "billing", "kitchen", "routing", "usecases"]

# (module, setting) -> why it is the process's own, whoever calls.
KEYS = {
    ("core/signing.py", "secret_key"): "every signature of the process, checked by any process",
    ("core/elders.py", "secret_key"): "family codes are stored as hashes keyed by the secret",
    ("core/audit.py", "audit_chain_key"): "the audit chain's key: one chain, one key",
    ("core/id_numbers.py", "*"): "ID numbers are stored as hashes under one key",
    ("core/i18n.py", "locales_dir"): "the process's translation catalogs",
    ("core/i18n.py", "default_locale"): "the language when a reader's is unknown",
    ("core/migrations/env.py", "database_url"): "Alembic's entry point is an edge of its own",
}


def settings_read(path: Path) -> set[tuple[str, str]]:
    """(module, setting) for each `get_settings()` in a module: `get_settings().x` names x;
    the whole object kept (`settings = get_settings()`) is "*"."""
    tree = ast.parse(path.read_text(), filename=str(path))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    module = path.relative_to(ROOT).as_posix()
    found = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "get_settings"
        ):
            parent = parents[node]
            found.add((module, parent.attr if isinstance(parent, ast.Attribute) else "*"))
    return found


def test_below_the_surfaces_only_keys_come_from_get_settings():
    found = set()
    for package in BELOW_THE_SURFACES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.name != "settings.py" or path.parent.name != "core":
                found |= settings_read(path)
    unexpected = found - set(KEYS)
    assert not unexpected, (
        f"{sorted(unexpected)} read settings below the surfaces: take the value as an "
        "argument (a use case may take `settings: Settings`) from the surface that has them"
    )


def test_the_check_sees_a_read(tmp_path, monkeypatch):
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    module = tmp_path / "core" / "x.py"
    module.parent.mkdir()
    module.write_text("s = get_settings()\nphone = get_settings().programme_phone\n")
    assert settings_read(module) == {("core/x.py", "*"), ("core/x.py", "programme_phone")}
