"""A dispatcher that starts no worker: what the tick dispatched is all a test or bench reads."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RecordingDispatcher:
    """Records each dispatch (task, attempt); workers are tested and measured on their own."""

    started: list[tuple[int, int]] = field(default_factory=list)

    async def dispatch(self, task_id: int, attempt: int) -> None:
        self.started.append((task_id, attempt))

    async def wait(self) -> None:
        return None
