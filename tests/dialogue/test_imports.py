"""The shape of the conversation side: which module may import which, read from the source.

Module-level imports only (``if TYPE_CHECKING:`` blocks included, they are still edges a
reader follows); imports inside functions are deliberate deferrals and are not edges.
"""

from __future__ import annotations

import ast
from collections.abc import Container, Iterator
from pathlib import Path

from tests.conftest import ROOT


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(
    tree: ast.Module, module: str, is_package: bool, modules: Container[str]
) -> Iterator[str]:
    def walk(body: list[ast.stmt]) -> Iterator[str]:
        for node in body:
            if isinstance(node, ast.Import):
                yield from (alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = module.split(".")
                    base = base[: len(base) - node.level + (1 if is_package else 0)]
                    target = ".".join([*base, node.module] if node.module else base)
                else:
                    target = node.module or ""
                # `from handlers import validators` imports the submodule (as grimp reads
                # it); `from bot.dialogue.turn import Turn` imports the module.
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    yield sub if sub in modules else target
            elif isinstance(node, ast.If | ast.Try):
                yield from walk(node.body)
                yield from walk(node.orelse)
                for handler in getattr(node, "handlers", []):
                    yield from walk(handler.body)

    yield from walk(tree.body)


def import_graph(*packages: str) -> dict[str, set[str]]:
    """Module → the project modules it imports at module level, for the given packages."""
    modules: dict[str, Path] = {}
    for package in packages:
        for path in (ROOT / package.replace(".", "/")).rglob("*.py"):
            modules[_module_name(path)] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = _top_level_imports(tree, name, path.name == "__init__.py", modules)
        graph[name] = {target for target in imported if target in modules and target != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for target in sorted(graph.get(node, ())):
            cycle = visit(target, [*path, node])
            if cycle:
                return cycle
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start, [])
        if cycle:
            return cycle
    return None


def imports_of(module: str | Path) -> set[str]:
    """Every module named in a module's imports (a dotted name or a path), anywhere in it."""
    path = module if isinstance(module, Path) else ROOT / (module.replace(".", "/") + ".py")
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_conversation_side_has_no_import_cycles():
    graph = import_graph("bot.dialogue", "bot.nlu", "bot.kb", "handlers")
    assert find_cycle(graph) is None, " → ".join(find_cycle(graph) or [])


def test_the_cycle_finder_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_form_specs_and_turns_need_neither_the_registry_nor_the_engine():
    for module in ("bot.dialogue.forms.spec", "bot.dialogue.turn", "bot.dialogue.forms.engine"):
        assert "bot.dialogue.intents" not in imports_of(module), module
    assert "bot.dialogue.forms.engine" not in imports_of("bot.dialogue.forms.spec")
    assert "bot.dialogue.forms.engine" not in imports_of("bot.dialogue.intents")


def test_the_form_engine_reaches_records_through_a_service():
    assert not {n for n in imports_of("bot.dialogue.forms.engine") if n.startswith("bot.models")}


def test_services_know_nothing_of_the_conversation():
    for path in (ROOT / "bot" / "services").rglob("*.py"):
        wrong = {n for n in imports_of(path) if n.startswith(("bot.dialogue", "handlers"))}
        assert not wrong, f"{_module_name(path)} imports {wrong}"


def test_understanding_does_not_import_the_knowledge_base():
    for path in (ROOT / "bot" / "nlu").rglob("*.py"):
        wrong = {n for n in imports_of(path) if n.startswith("bot.kb")}
        assert not wrong, f"{_module_name(path)} imports {wrong}"


def test_bot_does_not_import_handlers():
    """Handlers sit above bot/: only the factory (bot/__init__.py) registers them."""
    for package in ("bot/dialogue", "bot/nlu", "bot/kb", "bot/services", "bot/cli"):
        for path in (ROOT / package).rglob("*.py"):
            wrong = {n for n in imports_of(path) if n == "handlers" or n.startswith("handlers.")}
            assert not wrong, f"{_module_name(path)} imports {wrong}"


def test_handlers_do_not_reach_into_each_other():
    """Shared rules live in services; a handler module imports no other handler module."""
    for path in (ROOT / "handlers").glob("*.py"):
        if path.name in ("__init__.py", "validators.py"):
            continue
        others = {
            n for n in imports_of(path) if n.startswith("handlers.") and n != "handlers.validators"
        }
        assert not others, f"{_module_name(path)} imports {others}"


def test_handlers_do_not_rebuild_clocks_or_links():
    for path in (ROOT / "handlers").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        for needle in ("PUBLIC_BASE_URL", "ORG_TIMEZONE", "current_app", "/checkin/"):
            assert needle not in source, f"{path.name} uses {needle}; use turn.url/local_now"
