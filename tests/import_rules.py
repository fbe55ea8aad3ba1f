"""An import-linter contract type for `lint-imports` (configured in pyproject.toml): no cycles between nodes.

Built-in ``acyclic_siblings`` looks at the children of ONE package and ignores paths that leave it, so it
cannot see a cycle between top-level packages (``adapters -> bot.wiring -> adapters``). Here each node
is a package with everything under it; a cycle is any path of imports, direct or through other nodes,
that comes back to where it started. Imports inside functions count (grimp records them).
"""

from __future__ import annotations

from collections.abc import Iterable

from grimp import ImportGraph
from importlinter.application import contract_utils, output
from importlinter.application.contract_utils import AlertLevel
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck
from importlinter.domain.helpers import module_expressions_to_modules

Edge = tuple[str, str]


class AcyclicNodesContract(Contract):
    """``nodes``: module expressions (``bot.*`` = each child of bot is a node); no import cycle between them.

    ``ignore_imports`` as in the built-in contracts (an ignored import that no longer exists is a warning).
    """

    type_name = "acyclic_nodes"

    nodes = fields.SetField(subfield=fields.ModuleExpressionField())
    ignore_imports = fields.SetField(subfield=fields.ImportExpressionField(), required=False)
    unmatched_ignore_imports_alerting = fields.EnumField(AlertLevel, default=AlertLevel.WARN)

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        removal = contract_utils.remove_ignored_imports_and_report(
            graph=graph,
            ignore_imports=self.ignore_imports,  # type: ignore[arg-type]
            unmatched_alerting=self.unmatched_ignore_imports_alerting,  # type: ignore[arg-type]
        )
        nodes = sorted({m.name for m in module_expressions_to_modules(graph, self.nodes)})  # type: ignore[arg-type]
        examples: dict[Edge, tuple[str, str]] = {}  # (node, node) -> one (importer, imported) behind it
        for module in sorted(graph.modules):
            source = _node_of(module, nodes)
            if source is None:
                continue
            for imported in sorted(graph.find_modules_directly_imported_by(module)):
                target = _node_of(imported, nodes)
                if target is not None and target != source:
                    examples.setdefault((source, target), (module, imported))
        cycles = [sorted(c) for c in _strongly_connected(nodes, examples) if len(c) > 1]
        output.verbose_print(verbose, f"{len(nodes)} nodes, {len(examples)} dependencies, {len(cycles)} cycles")
        return ContractCheck(
            kept=not cycles, warnings=list(removal.warnings), ignored_import_count=removal.ignored_import_count,
            metadata={"cycles": cycles, "examples": examples},
        )

    def render_broken_contract(self, check: ContractCheck) -> None:
        examples: dict[Edge, tuple[str, str]] = check.metadata["examples"]
        for cycle in check.metadata["cycles"]:
            output.print_error(f"These import each other in a cycle: {', '.join(cycle)}")
            for (source, target), (importer, imported) in sorted(examples.items()):
                if source in cycle and target in cycle:
                    output.print_error(f"- {source} -> {target} (e.g. {importer} -> {imported})", bold=False)
            output.new_line()


def _node_of(module: str, nodes: list[str]) -> str | None:
    """The most specific node that is the module or contains it."""
    owners = [n for n in nodes if module == n or module.startswith(n + ".")]
    return max(owners, key=len) if owners else None


def _strongly_connected(nodes: Iterable[str], edges: Iterable[Edge]) -> list[list[str]]:
    """Tarjan's algorithm: the groups of nodes that can all reach each other."""
    successors: dict[str, list[str]] = {}
    for source, target in edges:
        successors.setdefault(source, []).append(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in successors.get(node, []):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            groups.append(group)

    for node in nodes:
        if node not in index:
            visit(node)
    return groups
