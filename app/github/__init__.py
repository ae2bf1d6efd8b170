"""GitHub access: App identity and tokens, the one client factory, checkouts and bot comments."""
