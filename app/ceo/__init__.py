"""The CEO agent: the tick that drains, sweeps, reconciles, plans, schedules and dispatches."""
