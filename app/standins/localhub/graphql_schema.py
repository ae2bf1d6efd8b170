"""The subset of GitHub's GraphQL schema localhub serves, as SDL built by graphql-core."""

from __future__ import annotations

from functools import cache

from graphql import GraphQLSchema, build_schema

SDL = """
scalar DateTime
scalar URI

interface Node { id: ID! }

interface Actor {
  login: String!
  avatarUrl(size: Int): URI!
  resourcePath: URI!
  url: URI!
}

interface RepositoryOwner {
  id: ID!
  login: String!
  url: URI!
}

interface Reactable {
  id: ID!
  databaseId: Int
  reactionGroups: [ReactionGroup!]
  reactions(
    first: Int, after: String, last: Int, before: String,
    content: ReactionContent, orderBy: ReactionOrder
  ): ReactionConnection!
  viewerCanReact: Boolean!
}

type Query {
  repository(owner: String!, name: String!, followRenames: Boolean = true): Repository
  rateLimit(dryRun: Boolean = false): RateLimit
  user(login: String!): User
  viewer: User!
}

type RateLimit {
  cost: Int!
  limit: Int!
  nodeCount: Int!
  remaining: Int!
  resetAt: DateTime!
  used: Int!
}

type PageInfo {
  endCursor: String
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
}

type User implements Node & Actor & RepositoryOwner {
  id: ID!
  databaseId: Int
  login: String!
  name: String
  email: String!
  createdAt: DateTime!
  avatarUrl(size: Int): URI!
  resourcePath: URI!
  url: URI!
}

type Bot implements Node & Actor {
  id: ID!
  databaseId: Int
  login: String!
  createdAt: DateTime!
  avatarUrl(size: Int): URI!
  resourcePath: URI!
  url: URI!
}

type Organization implements Node & Actor & RepositoryOwner {
  id: ID!
  databaseId: Int
  login: String!
  name: String
  createdAt: DateTime!
  avatarUrl(size: Int): URI!
  resourcePath: URI!
  url: URI!
}

type Mannequin implements Node & Actor {
  id: ID!
  databaseId: Int
  login: String!
  createdAt: DateTime!
  avatarUrl(size: Int): URI!
  resourcePath: URI!
  url: URI!
}

union Reactor = Bot | Mannequin | Organization | User

type Ref { id: ID! name: String! prefix: String! }

enum IssueState { OPEN CLOSED }
enum PullRequestState { OPEN CLOSED MERGED }
enum MergeableState { CONFLICTING MERGEABLE UNKNOWN }
enum OrderDirection { ASC DESC }
enum IssueOrderField { CREATED_AT UPDATED_AT COMMENTS }
enum ReactionOrderField { CREATED_AT }
enum ReactionContent { THUMBS_UP THUMBS_DOWN LAUGH HOORAY CONFUSED HEART ROCKET EYES }
enum CommentAuthorAssociation {
  COLLABORATOR CONTRIBUTOR FIRST_TIMER FIRST_TIME_CONTRIBUTOR MANNEQUIN MEMBER NONE OWNER
}

input IssueOrder { field: IssueOrderField! direction: OrderDirection! }
input ReactionOrder { field: ReactionOrderField! direction: OrderDirection! }
input IssueFilters {
  assignee: String
  createdBy: String
  labels: [String!]
  since: DateTime
  states: [IssueState!]
}

type Repository implements Node {
  id: ID!
  databaseId: Int
  name: String!
  nameWithOwner: String!
  owner: RepositoryOwner!
  url: URI!
  isPrivate: Boolean!
  createdAt: DateTime!
  defaultBranchRef: Ref
  issue(number: Int!): Issue
  issues(
    first: Int, after: String, last: Int, before: String,
    states: [IssueState!], labels: [String!], orderBy: IssueOrder, filterBy: IssueFilters
  ): IssueConnection!
  pullRequest(number: Int!): PullRequest
  pullRequests(
    first: Int, after: String, last: Int, before: String,
    states: [PullRequestState!], labels: [String!], headRefName: String, baseRefName: String,
    orderBy: IssueOrder
  ): PullRequestConnection!
}

type IssueConnection {
  edges: [IssueEdge]
  nodes: [Issue]
  pageInfo: PageInfo!
  totalCount: Int!
}

type IssueEdge { cursor: String! node: Issue }

type Issue implements Node & Reactable {
  id: ID!
  databaseId: Int
  number: Int!
  title: String!
  body: String!
  createdAt: DateTime!
  updatedAt: DateTime!
  closedAt: DateTime
  closed: Boolean!
  state: IssueState!
  url: URI!
  author: Actor
  authorAssociation: CommentAuthorAssociation!
  labels(first: Int, after: String, last: Int, before: String): LabelConnection
  assignees(first: Int, after: String, last: Int, before: String): UserConnection!
  comments(first: Int, after: String, last: Int, before: String): IssueCommentConnection!
  reactionGroups: [ReactionGroup!]
  reactions(
    first: Int, after: String, last: Int, before: String,
    content: ReactionContent, orderBy: ReactionOrder
  ): ReactionConnection!
  viewerCanReact: Boolean!
}

type PullRequest implements Node & Reactable {
  id: ID!
  databaseId: Int
  number: Int!
  title: String!
  body: String!
  createdAt: DateTime!
  updatedAt: DateTime!
  closedAt: DateTime
  closed: Boolean!
  merged: Boolean!
  mergedAt: DateTime
  state: PullRequestState!
  url: URI!
  author: Actor
  authorAssociation: CommentAuthorAssociation!
  headRefName: String!
  headRefOid: String!
  baseRefName: String!
  isDraft: Boolean!
  mergeable: MergeableState!
  labels(first: Int, after: String, last: Int, before: String): LabelConnection
  comments(first: Int, after: String, last: Int, before: String): IssueCommentConnection!
  reactionGroups: [ReactionGroup!]
  reactions(
    first: Int, after: String, last: Int, before: String,
    content: ReactionContent, orderBy: ReactionOrder
  ): ReactionConnection!
  viewerCanReact: Boolean!
}

type PullRequestConnection {
  edges: [PullRequestEdge]
  nodes: [PullRequest]
  pageInfo: PageInfo!
  totalCount: Int!
}

type PullRequestEdge { cursor: String! node: PullRequest }

type IssueComment implements Node & Reactable {
  id: ID!
  databaseId: Int
  body: String!
  createdAt: DateTime!
  updatedAt: DateTime!
  url: URI!
  author: Actor
  authorAssociation: CommentAuthorAssociation!
  reactionGroups: [ReactionGroup!]
  reactions(
    first: Int, after: String, last: Int, before: String,
    content: ReactionContent, orderBy: ReactionOrder
  ): ReactionConnection!
  viewerCanReact: Boolean!
}

type IssueCommentConnection {
  edges: [IssueCommentEdge]
  nodes: [IssueComment]
  pageInfo: PageInfo!
  totalCount: Int!
}

type IssueCommentEdge { cursor: String! node: IssueComment }

type Label implements Node {
  id: ID!
  name: String!
  color: String!
  description: String
}

type LabelConnection {
  edges: [LabelEdge]
  nodes: [Label]
  pageInfo: PageInfo!
  totalCount: Int!
}

type LabelEdge { cursor: String! node: Label }

type UserConnection {
  edges: [UserEdge]
  nodes: [User]
  pageInfo: PageInfo!
  totalCount: Int!
}

type UserEdge { cursor: String! node: User }

type ReactionGroup {
  content: ReactionContent!
  createdAt: DateTime
  reactors(first: Int, after: String, last: Int, before: String): ReactorConnection!
  viewerHasReacted: Boolean!
}

type ReactorConnection {
  edges: [ReactorEdge!]!
  nodes: [Reactor!]!
  pageInfo: PageInfo!
  totalCount: Int!
}

type ReactorEdge { cursor: String! node: Reactor! reactedAt: DateTime! }

type Reaction implements Node {
  id: ID!
  databaseId: Int
  content: ReactionContent!
  createdAt: DateTime!
  user: User
  reactable: Reactable!
}

type ReactionConnection {
  edges: [ReactionEdge]
  nodes: [Reaction]
  pageInfo: PageInfo!
  totalCount: Int!
  viewerHasReacted: Boolean!
}

type ReactionEdge { cursor: String! node: Reaction }
"""


@cache
def schema() -> GraphQLSchema:
    """Build (once) and return the executable schema."""
    return build_schema(SDL)
