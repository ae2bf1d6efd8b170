"""Phase 1 of the review: run static analysis tools and diff checks, and report findings."""
