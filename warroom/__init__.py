"""warroom: crisis communication playbook engine."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    """`warroom.__version__`, read from the installed metadata only when asked for: reading it
    costs every command's start (importlib.metadata), and only the server and checkpoints
    need it."""
    if name != "__version__":
        raise AttributeError(f"module 'warroom' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("warroom")
    except PackageNotFoundError:  # run from a source tree that was never installed
        found = "0.0.0"
    globals()["__version__"] = found
    return found
