"""Guards on the code's structure (see docs/ARCHITECTURE.md, "Layers"):

* imports inside ``functorch_lite``, ``backends`` and ``compat`` form no cycle;
* every import of the project's own modules sits at the top of its file; an import inside
  a function (a deliberate lazy load of an optional dependency) carries a comment saying why;
* no module imports another module's private (``_name``) names;
* the core reaches backends only through the registry and never imports ``compat``.
"""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ("functorch_lite", "backends", "compat")
PROJECT = ("functorch_lite", "backends", "compat")


def _modules():
    """{dotted module name: path} for every .py file of the checked packages."""
    mods = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join(parts)] = path
    return mods


MODULES = _modules()


def _package_of(mod):
    path = MODULES[mod]
    return mod if path.name == "__init__.py" else mod.rpartition(".")[0]


def _imports(mod):
    """(ast node, [imported module names], top level?) per import statement."""
    tree = ast.parse(MODULES[mod].read_text())
    top = {id(n) for n in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield node, [a.name for a in node.names], id(node) in top
        elif isinstance(node, ast.ImportFrom):
            target = _node_target(mod, node)
            names = [a.name for a in node.names]
            # `from pkg import sub` imports the submodule pkg.sub when there is one; the
            # package itself only when some name comes from its __init__
            subs = [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
            own = [] if len(subs) == len(names) else [target]
            yield node, own + subs, id(node) in top


def _node_target(mod, node):
    """The module an ``ImportFrom`` node imports from."""
    if not node.level:
        return node.module
    base = _package_of(mod).split(".")
    base = base[:len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def _project(name):
    return name.split(".")[0] in PROJECT


def _edges():
    graph = {m: set() for m in MODULES}
    for mod in MODULES:
        for _, targets, top in _imports(mod):
            for t in targets:
                # the root package's __init__ only re-exports and always runs first
                if top and t in MODULES and t not in PACKAGES and t != mod:
                    graph[mod].add(t)
    return graph


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    assert _cycles(_edges()) == []


def test_cycle_detector_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_project_imports_are_at_the_top_and_lazy_ones_say_why():
    lines = {m: p.read_text().splitlines() for m, p in MODULES.items()}
    inner, silent = [], []
    for mod in MODULES:
        for node, targets, top in _imports(mod):
            if top:
                continue
            where = f"{MODULES[mod].relative_to(ROOT)}:{node.lineno}"
            if any(_project(t) for t in targets):
                inner.append(where)
            src = lines[mod]
            if "#" not in src[node.lineno - 1] and not src[node.lineno - 2].strip().startswith("#"):
                silent.append(where)
    assert inner == [], "imports of project modules inside functions"
    assert silent == [], "lazy imports without a comment saying why"


def test_no_private_names_cross_modules():
    bad = []
    for mod, path in MODULES.items():
        tree = ast.parse(path.read_text())
        aliases = set()
        for node, targets, _ in _imports(mod):
            if not any(_project(t) for t in targets):
                continue
            for a in node.names:
                bound = a.asname or a.name.split(".")[0]
                if isinstance(node, ast.ImportFrom):
                    if a.name.startswith("_") and not a.name.startswith("__"):
                        bad.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {a.name}")
                    if f"{_node_target(mod, node)}.{a.name}" in MODULES:
                        aliases.add(bound)
                else:
                    aliases.add(bound)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in aliases and node.attr.startswith("_")
                    and not node.attr.startswith("__")):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno} uses "
                           f"{node.value.id}.{node.attr}")
    assert bad == []


def test_core_reaches_backends_only_through_the_registry():
    bad = []
    for mod in MODULES:
        if not mod.startswith("functorch_lite"):
            continue
        for node, targets, _ in _imports(mod):
            for t in targets:
                if t.startswith("compat") or (t.startswith("backends.")):
                    bad.append(f"{mod}:{node.lineno} imports {t}")
    assert bad == []


def test_registry_does_not_depend_on_which_module_is_imported_first():
    def registered(first):
        code = (f"import {first}\nfrom functorch_lite.core import PRIMITIVES\n"
                "print(' '.join(sorted(PRIMITIVES)))")
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True, cwd=ROOT).stdout.split()

    full = registered("functorch_lite")
    assert {"add", "cond", "scan", "while", "jit", "checkpoint", "custom_vjp_call"} <= set(full)
    for first in ("functorch_lite.core", "functorch_lite.primitives.shape",
                  "functorch_lite.control.scan", "backends", "functorch_lite.numpy"):
        got = registered(first) if first != "backends" else registered(
            "backends, functorch_lite.ir")
        assert got == full, first


def test_test_files_have_unique_names():
    # pytest imports test files by basename (no packages under tests/), so two files with
    # one name in different folders fail collection
    names = [p.name for p in (ROOT / "tests").rglob("test_*.py")]
    assert sorted(n for n in set(names) if names.count(n) > 1) == []
