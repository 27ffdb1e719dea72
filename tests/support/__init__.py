"""Helpers for tests that run real programs (Alertmanager); importable as `support`."""
