"""The Modal deployment of Townhall (web endpoint, CEO cron, workers, reviewer).

Importing this module needs no credentials and no network: Modal objects are only described
here; nothing is built or deployed until `modal deploy modal_app.py`.
"""

from __future__ import annotations

import modal

app = modal.App("townhall")
