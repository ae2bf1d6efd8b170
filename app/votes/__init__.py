"""Votes: sweep reactions, apply the repository's vote rules, record and show the decision.

Pure core: `ballots` (plain data), `rules` (snapshot + policy + time -> decision), `tally`
and `explain` (rendering), `texts` (every sentence shown). Thin I/O around it: `query` and
`fetch` (GraphQL reads), `facts` (permissions, contributors), `record` (decisions written
through app/store/votes.py), `publish` (tally comment, labels), `sweep` (one sweep, the CEO
tick's entry point), `debounce` and `webhooks` (early sweeps from issue events, maintainer
labels), `cli` (`townhall votes`).
"""
