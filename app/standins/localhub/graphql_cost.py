"""Check GraphQL pagination limits and compute a query's cost the way GitHub describes it."""

# GitHub counts, for every connection, the requests needed to fill it assuming each enclosing
# connection returns its full `first`/`last`; the sum divided by 100 and rounded (minimum 1)
# is the query's cost. Connections must say `first` or `last`, and neither may exceed 100.

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    is_object_type,
    value_from_ast_untyped,
)
from graphql.language import get_location

MAX_PAGE = 100


@dataclass
class CostReport:
    """The outcome of the static analysis: cost, node estimate, and GitHub-style errors."""

    cost: int = 1
    requests: int = 0
    node_count: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


def _location(node: FieldNode) -> list[dict[str, int]]:
    if node.loc is None:
        return []
    where = get_location(node.loc.source, node.loc.start)
    return [{"line": where.line, "column": where.column}]


def _argument(node: FieldNode, name: str, variables: dict[str, Any]) -> Any:
    for argument in node.arguments or ():
        if argument.name.value == name:
            return value_from_ast_untyped(argument.value, variables)
    return None


class _Walker:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.report = CostReport()

    def walk(
        self,
        selections: SelectionSetNode | None,
        parent: GraphQLNamedType,
        multiplier: int,
        path: list[str],
    ) -> None:
        if selections is None:
            return
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                self._field(selection, parent, multiplier, path)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                self.walk(selection.selection_set, target or parent, multiplier, path)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    target = self.schema.get_type(fragment.type_condition.name.value)
                    self.walk(fragment.selection_set, target or parent, multiplier, path)

    def _field(
        self, node: FieldNode, parent: GraphQLNamedType, multiplier: int, path: list[str]
    ) -> None:
        name = node.name.value
        fields = getattr(parent, "fields", None)
        if name.startswith("__") or not fields or name not in fields:
            return
        target = get_named_type(fields[name].type)
        here = [*path, node.alias.value if node.alias else name]
        if target.name.endswith("Connection"):
            multiplier = self._connection(node, name, multiplier, here)
        if is_object_type(target) or hasattr(target, "fields") or hasattr(target, "types"):
            self.walk(node.selection_set, target, multiplier, here)

    def _connection(self, node: FieldNode, name: str, multiplier: int, path: list[str]) -> int:
        first = _argument(node, "first", self.variables)
        last = _argument(node, "last", self.variables)
        size = first if first is not None else last
        self.report.requests += multiplier
        if size is None:
            self.report.errors.append(
                {
                    "type": "MISSING_PAGINATION_BOUNDARIES",
                    "path": path,
                    "locations": _location(node),
                    "message": f"You must provide a `first` or `last` value to properly "
                    f"paginate the `{name}` connection.",
                }
            )
            return multiplier
        limit_name = "first" if first is not None else "last"
        if int(size) > MAX_PAGE:
            self.report.errors.append(
                {
                    "type": "EXCESSIVE_PAGINATION",
                    "path": path,
                    "locations": _location(node),
                    "message": f"Requesting {size} records on the `{name}` connection exceeds "
                    f"the `{limit_name}` limit of {MAX_PAGE} records.",
                }
            )
        self.report.node_count += multiplier * int(size)
        return multiplier * max(int(size), 1)


def analyse(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: dict[str, Any],
) -> CostReport:
    """Return the cost of `operation` and any pagination-limit errors."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    values = dict(variables)
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name not in values and definition.default_value is not None:
            values[name] = value_from_ast_untyped(definition.default_value)
    walker = _Walker(schema, fragments, values)
    root = schema.query_type
    if root is not None:
        walker.walk(operation.selection_set, root, 1, [])
    report = walker.report
    report.cost = max(1, int(report.requests / 100 + 0.5))
    return report
