"""A PostgreSQL database of its own for each test, on the server this machine kind runs at
127.0.0.1:5432 (trust auth); dropped afterwards. Tests skip, saying why, only where no server
answers (`WARROOM_TEST_POSTGRES` names another admin URL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

ADMIN = os.environ.get("WARROOM_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def admin_url() -> str:
    return ADMIN


@contextmanager
def fresh_database() -> Iterator[str]:
    """The URL of a new, empty database, dropped (with its connections) on exit."""
    psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed")
    try:
        admin = psycopg.connect(ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL server answers at {ADMIN}: {str(exc).strip()[:120]}")
    name = f"warroom_test_{uuid.uuid4().hex[:12]}"
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
        base = ADMIN.rsplit("/", 1)[0]
        yield f"{base}/{name}"
    finally:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()
