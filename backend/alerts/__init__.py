"""Alert rules, their evaluation, notifiers and the worker that runs them in ``fleet-backend serve``."""
