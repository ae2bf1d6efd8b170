"""Offline stand-ins for the outside world: localhub (GitHub) and the scripted model (Anthropic).

They are test and demo equipment, not production code: they import only Townhall's core
(`app.clock`, `app.serving`), and production modules never import them.
"""
