"""The store: event log, outbox and timers. SQLite is the embedded default."""
