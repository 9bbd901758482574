"""The import graph of monitor/, etl/, app.py, serve.py and pages/ (read with ast, nothing imported): no circle, and
etl/ (the write side) does not import monitor/ (the read side) except the listed, documented arrows."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# etl/cli.py's `report` and `alerts` verbs (to be moved or made explicit: issue 12)
ETL_TO_MONITOR = {("etl.cli", "monitor.report_pdf"), ("etl.cli", "monitor.alerts")}


def _graph() -> dict[str, set[str]]:
    files = [*(ROOT / "monitor").rglob("*.py"), *(ROOT / "etl").rglob("*.py"), ROOT / "app.py", ROOT / "serve.py",
             *(ROOT / "pages").glob("*.py")]
    mods = {}
    for p in files:
        parts = list(p.relative_to(ROOT).with_suffix("").parts)
        mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    graph = {}
    for name, p in mods.items():
        package = name.split(".") if p.name == "__init__.py" else name.split(".")[:-1]
        deps = set()
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                # `from .x import y` (etl/ imports its own modules so) resolved against the importing package
                base = package[:len(package) - node.level + 1] if node.level else []
                module = ".".join([*base, *([node.module] if node.module else [])])
                found = [module, *(f"{module}.{a.name}" for a in node.names)]
            else:
                continue
            deps |= {d for d in found if d in mods and d != name}
        graph[name] = deps
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
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


def test_no_import_circle():
    assert _circles(_graph()) == []


def test_etl_does_not_import_monitor_but_the_listed_exceptions():
    uphill = {(m, d) for m, deps in _graph().items() if m.startswith("etl") for d in deps if d.startswith("monitor")}
    assert uphill == ETL_TO_MONITOR


def test_the_read_wing_imports_no_view_and_no_page_helper():
    graph = _graph()
    for m, deps in graph.items():
        if m.startswith("monitor.read"):
            assert not {d for d in deps if d.startswith(("monitor.views", "monitor.ui", "monitor.intake"))}, m
        if m.startswith("monitor.views"):
            assert not {d for d in deps if d in ("monitor.ui", "monitor.intake", "monitor.alerts",
                                                 "monitor.report_pdf")}, m


# docs/development.md "Imports": the helpers at the top of monitor/, the read wing and the views wing
HELPERS = {"monitor.format", "monitor.plain", "monitor.glossary", "monitor.pace", "monitor.chromium",
           "monitor.worker_memory", "monitor.print_layout", "monitor.exports", "monitor.views.style"}
PACKAGES = {"monitor", "monitor.read", "monitor.views"}  # `from monitor import x` names the package too


def test_the_wings_import_only_downhill():
    graph = _graph()
    read = {m for m in graph if m.startswith("monitor.read.")}
    views = {m for m in graph if m.startswith("monitor.views.")} - HELPERS
    allowed = {
        **{m: HELPERS | PACKAGES for m in HELPERS},
        **{m: HELPERS | PACKAGES | read | {"etl.paths", "etl.macros"} for m in read},
        **{m: HELPERS | PACKAGES | read | views for m in views},
    }
    broken = {(m, d) for m, ok in allowed.items() for d in graph[m] - ok}
    assert broken == set()


def test_the_import_graph_sees_relative_imports():
    graph = _graph()
    assert {"etl.prepare", "etl.write"} <= graph["etl.load"] and "etl.versions" in graph["etl.swap"]
