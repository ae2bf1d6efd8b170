"""Votes: sweep reactions, apply the repository's vote rules, record and show the decision."""
