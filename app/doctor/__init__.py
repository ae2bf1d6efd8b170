"""`townhall doctor`: one line per thing a deployment needs, each ok or the fix."""

from app.doctor.lines import Line, render
from app.doctor.run import run_doctor

__all__ = ["Line", "render", "run_doctor"]
