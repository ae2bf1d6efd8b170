"""`townhall setup`: GitHub's App manifest flow from a local page, ending in a .env file.

command.py registers and runs the command, page.py serves the button and receives GitHub's
redirect, envfile.py writes the credentials (mode 600) and prints Modal's secret command; the
manifest itself and the code exchange live in app/github/manifest.py.
"""
