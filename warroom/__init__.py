"""warroom: crisis communication playbook engine."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("warroom")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0.0.0"
