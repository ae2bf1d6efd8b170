"""The libSQL store: one writer connection behind an async interface, versioned migrations."""

from app.store.db import Row, Store, StoreError, Tx, open_store

__all__ = ["Row", "Store", "StoreError", "Tx", "open_store"]
