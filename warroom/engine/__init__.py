"""The pure core: decisions from (state, event, now), never I/O, never a clock read."""
