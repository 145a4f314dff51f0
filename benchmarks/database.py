"""The benchmark's own PostgreSQL database: created when missing, dropped to reseed."""

from __future__ import annotations

import logging
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

log = logging.getLogger("benchmarks")


def _split(url: str) -> tuple[str, str]:
    """(the URL of the server's `postgres` maintenance database, the benchmark database's name)."""
    parts = urlsplit(url)
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise ValueError("BENCH_DATABASE_URL names no database.")
    scheme = "postgresql" if parts.scheme in {"postgres", "pgsql"} else parts.scheme
    return urlunsplit((scheme, parts.netloc, "/postgres", parts.query, "")), name


def ensure_database(url: str) -> bool:
    """Create the database unless it exists. True when it was created."""
    admin_url, name = _split(url)
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists:
            return False
        log.info("creating database %s", name)
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True


def drop_database(url: str) -> None:
    admin_url, name = _split(url)
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        log.info("dropping database %s", name)
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
