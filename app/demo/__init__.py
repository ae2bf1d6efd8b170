"""`townhall demo`: the whole loop offline, on localhub and the scripted model server."""
