"""warroom listens: the HTTP service `warroom serve` runs (FastAPI on uvicorn).

As thin as the command line: every route authenticates on the raw bytes, writes one line to
the inbound log, turns the request into a call on the same `Runtime` the CLI uses, and says
what happened. No route holds business logic.
"""
