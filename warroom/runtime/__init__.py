"""The shell around the pure engine: submit commands, fire timers, dispatch the outbox."""
