"""Two-phase reviewer: static analysis, rubric review, verdict, merge, rollback."""
