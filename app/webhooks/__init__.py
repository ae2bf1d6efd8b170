"""Webhooks: signature checks, the inbox of deliveries, routing to handlers, processing."""
