"""Judge GraphQL documents (and their variables) against GitHub's published GraphQL schema.

The schema is @octokit/graphql-schema's SDL, kept gzipped in tests/contract/data (refresh.py).
"""

from __future__ import annotations

import gzip
from functools import cache
from typing import Any

from graphql import GraphQLError, GraphQLSchema, OperationDefinitionNode, build_schema, parse
from graphql.execution.values import get_variable_values
from graphql.validation import validate

from .checker import DATA


@cache
def github_schema() -> GraphQLSchema:
    """Return GitHub's GraphQL schema as kept in tests/contract/data/github.graphql.gz."""
    sdl = gzip.decompress((DATA / "github.graphql.gz").read_bytes()).decode()
    # GitHub's SDL defines two EnterpriseOwnerInfo fields twice (the later one wins), and
    # graphql-core 3.3 also refuses deprecated fields implementing non-deprecated interface
    # fields, which GitHub has; neither matters for checking documents against the schema.
    return build_schema(sdl, assume_valid_sdl=True, assume_valid=True)


def check_document(document: str, variables: dict[str, Any] | None = None) -> list[str]:
    """Return how a document (and, when given, its variables) breaks GitHub's schema."""
    try:
        parsed = parse(document)
    except GraphQLError as error:
        return [f"syntax: {error.message}"]
    schema = github_schema()
    problems = [error.message for error in validate(schema, parsed)]
    if problems or variables is None:
        return problems
    for definition in parsed.definitions:
        if isinstance(definition, OperationDefinitionNode):
            coerced = get_variable_values(schema, definition.variable_definitions or (), variables)
            if isinstance(coerced, list):
                problems += [f"variables: {error.message}" for error in coerced]
    return problems
