"""`warroom serve` and the inbound log's command: the network side of the command line."""

import os
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from warroom.cli import (
    CLOCK_ENV,
    DbOption,
    LibraryOption,
    RosterOption,
    actor,
    app,
    db_location,
    err,
    error_boundary,
    open_library,
    opened_runtime,
    out,
    parse_time,
)
from warroom.cli.incident import ChannelsOption, channel_settings, inbound_app
from warroom.errors import InvalidInput, UsageError

if TYPE_CHECKING:
    from warroom.server.settings import ServerSettings

VERDICTS = ("received", "accepted", "duplicate", "unauthenticated", "malformed", "no-effect")


@app.command()
@error_boundary
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    worker: Annotated[
        bool,
        typer.Option("--worker/--no-worker", help="Also fire timers and send from this process."),
    ] = True,
    poll: Annotated[float, typer.Option(help="Seconds between the worker's checks.")] = 1.0,
    settings_file: ChannelsOption = None,
    library: LibraryOption = None,
    roster: RosterOption = None,
    db: DbOption = None,
) -> None:
    """Serve the trigger webhooks, Twilio's webhooks, signed links, the read API and health
    checks. The library is read at start: restart to pick up edited playbooks."""
    from warroom.channels.registry import build_channels, describe, printing, printing_warning
    from warroom.library import default_library, default_roster
    from warroom.runtime.clock import SystemClock, VirtualClock
    from warroom.server.serve import build_service, trigger_library
    from warroom.server.settings import load_server_settings

    if not 0 < port < 65536:
        raise UsageError(f"--port {port} is not a port (expected 1 to 65535)")
    if poll <= 0 or poll != poll:
        raise UsageError(f"--poll {poll} must be a number of seconds above 0")
    settings = channel_settings(settings_file)
    folder = library or default_library()
    loaded = open_library(folder, roster)
    if loaded.errors:
        raise InvalidInput(loaded.errors)
    triggers = trigger_library(loaded, roster or default_roster(folder))
    server_settings = load_server_settings(file=settings_file)
    path = db_location(db)
    frozen = os.environ.get(CLOCK_ENV)
    clock = VirtualClock(parse_time(frozen, CLOCK_ENV)) if frozen else SystemClock()
    channels = build_channels(settings, out.file) if worker else {}
    token = settings.twilio.auth_token if settings.twilio else None
    service = build_service(
        db=path,
        clock=clock,
        settings=server_settings,
        channels=channels,
        twilio_token=token,
        host=host,
        port=port,
        worker=worker,
        poll=poll,
        triggers=triggers,
    )
    if worker:
        for kind, text in describe(settings).items():
            err.print(f"{kind:>5}: {escape(text)}")
        warning = printing_warning(printing(settings))
        if warning:
            err.print(f"[bold red]warroom: {escape(warning)}[/bold red]")
    for what, missing in _unset(server_settings, token is not None):
        err.print(f"[yellow]not configured[/yellow]: {what} answer 503 until {missing} is set")
    names = ", ".join(sorted(triggers.playbooks)) or "none"
    err.print(f"triggers: {len(triggers.playbooks)} playbooks ({names})")
    mode = "with the worker" if worker else "HTTP only (--no-worker)"
    err.print(f"warroom serving {path} on http://{host}:{port} {mode}; Ctrl-C stops it")
    service.run()


def _unset(settings: "ServerSettings", twilio_token: bool) -> list[tuple[str, str]]:
    missing = []
    if not (settings.public_url and twilio_token):
        missing.append(("/twilio/*", "WARROOM_PUBLIC_URL and TWILIO_AUTH_TOKEN"))
    if not (settings.public_url and settings.secret):
        missing.append(("/act/* (e-mail links)", "WARROOM_PUBLIC_URL and WARROOM_SECRET"))
    if settings.api_token is None:
        missing.append(("/api/*", "WARROOM_API_TOKEN"))
    if settings.alertmanager_token is None:
        missing.append(("/hooks/alertmanager", "WARROOM_ALERTMANAGER_TOKEN"))
    if not settings.pagerduty_secrets:
        missing.append(("/hooks/pagerduty", "WARROOM_PAGERDUTY_SECRETS"))
    if settings.generic_secret is None and settings.generic_token is None:
        missing.append(("/hooks/generic", "WARROOM_GENERIC_SECRET or WARROOM_GENERIC_TOKEN"))
    return missing


@inbound_app.command("list")
@error_boundary
def inbound_list(
    since: Annotated[
        str | None, typer.Option(help="Only from this time (ISO 8601 with an offset).")
    ] = None,
    verdict: Annotated[
        str | None, typer.Option(help="Only this verdict: " + ", ".join(VERDICTS) + ".")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many, the newest.")] = 200,
    db: DbOption = None,
) -> None:
    """Every request to a webhook or link, and every reply, with what warroom made of it."""
    from rich.table import Table

    if verdict is not None and verdict not in VERDICTS:
        raise UsageError(f"--verdict {verdict!r} is not one of: {', '.join(VERDICTS)}")
    if limit < 1:
        raise UsageError(f"--limit {limit} must be 1 or more")
    moment: datetime | None = parse_time(since, "--since") if since else None
    with opened_runtime(db, reading=True) as runtime:
        entries = runtime.store.inbound(since=moment, verdict=verdict, limit=limit)
    table = Table("at (UTC)", "route", "from", "verdict", "incident", "what it did")
    for entry in entries:
        table.add_row(
            f"{entry.at:%Y-%m-%d %H:%M:%S}",
            escape(entry.route),
            escape(entry.sender),
            entry.verdict,
            escape(entry.incident or "-"),
            escape(entry.outcome[:120]),
        )
    out.print(table)


MAX_SHARE = timedelta(days=30)


@app.command()
@error_boundary
def share(
    link_id: Annotated[
        str | None, typer.Argument(help="With --revoke: the link id to revoke.")
    ] = None,
    incident: Annotated[
        str | None, typer.Option("--incident", "-i", help="Incident id [default: the open one].")
    ] = None,
    lifetime: Annotated[str, typer.Option("--for", help="How long the link works.")] = "12h",
    revoke: Annotated[
        bool, typer.Option("--revoke", help="Revoke LINK_ID, or every link of --incident.")
    ] = False,
    settings_file: ChannelsOption = None,
    db: DbOption = None,
) -> None:
    """A read-only link to an incident's war-room page, for people without the API token."""
    from warroom.durations import parse_duration
    from warroom.runtime.links import ActionLinks, new_link_id
    from warroom.server.settings import load_server_settings
    from warroom.store.port import ViewLink

    if revoke:
        if (link_id is None) == (incident is None):
            raise UsageError("`warroom share --revoke` takes a LINK_ID or --incident ID (one)")
        with opened_runtime(db) as runtime:
            if incident is not None:
                runtime.store.incident(incident)  # an unknown id is an error, not "0 revoked"
            elif runtime.store.view_link(link_id or "") is None:
                raise UsageError(f"unknown link id {link_id!r}")
            count = runtime.store.revoke_view_links(
                runtime.clock.now(), link_id=link_id, incident=incident
            )
        out.print(f"revoked {count} link{'s' if count != 1 else ''}")
        return
    if link_id is not None:
        raise UsageError("a LINK_ID goes with --revoke; to share, give --incident")
    try:
        span = parse_duration(lifetime)
    except ValueError as exc:
        raise UsageError(f"--for {exc}") from None
    if span > MAX_SHARE:
        raise UsageError(f"--for {lifetime!r} is over 30d; share again when it runs out")
    server = load_server_settings(file=settings_file)
    if not (server.public_url and server.secret):
        raise UsageError(
            "sharing needs WARROOM_PUBLIC_URL and WARROOM_SECRET (the links' address and key)"
        )
    links = ActionLinks(server.public_url, server.secret)
    with opened_runtime(db) as runtime:
        incident_id = incident or runtime.open_incident()
        runtime.store.incident(incident_id)
        now = runtime.clock.now()
        link = ViewLink(new_link_id(), incident_id, now, now + span, actor(None))
        runtime.store.add_view_link(link)
    out.print(links.view_url(link), soft_wrap=True)
    out.print(
        f"link id {link.id}, until {link.expires_at:%Y-%m-%d %H:%M} UTC; "
        f"`warroom share --revoke {link.id}` ends it"
    )


db_app = typer.Typer(help="The incident database: move it between stores.")
app.add_typer(db_app, name="db")


@db_app.command("copy")
@error_boundary
def db_copy(
    source: Annotated[str, typer.Option("--from", help="sqlite:///FILE (or a file path).")],
    target: Annotated[str, typer.Option("--to", help="postgresql://... (an empty database).")],
) -> None:
    """Copy a SQLite store into PostgreSQL, event log included, and verify it by replay."""
    from warroom.runtime.clock import SystemClock
    from warroom.runtime.runtime import Runtime
    from warroom.store import open_store
    from warroom.store.postgres import PostgresStore
    from warroom.store.sqlite import SqliteStore
    from warroom.store.transfer import copy_store

    if not target.startswith(("postgresql://", "postgres://")):
        raise UsageError(f"--to {target!r} is not a PostgreSQL URL (expected postgresql://...)")
    if source.startswith(("postgresql://", "postgres://")):
        raise UsageError("--from takes the SQLite database (sqlite:///FILE or a file path)")
    origin = open_store(source, existing=True)
    destination = open_store(target)
    if not isinstance(origin, SqliteStore) or not isinstance(destination, PostgresStore):
        raise UsageError("`warroom db copy` copies SQLite into PostgreSQL")
    try:
        clock = SystemClock()
        copied = copy_store(
            origin, destination, lambda store, incident: Runtime(store, clock).replay(incident)
        )
    finally:
        origin.close()
        destination.close()
    rows = ", ".join(f"{n} {table}" for table, n in copied.rows.items())
    out.print(f"copied {rows}")
    out.print(f"verified: {copied.incidents_verified} incidents replay to the same state")


LIVE = timedelta(seconds=30)
"""A worker whose last pass is older than this is not running (it beats every few seconds)."""


@app.command()
@error_boundary
def nodes(db: DbOption = None) -> None:
    """The workers on this database: which are live, and how many messages each holds."""
    from rich.table import Table

    with opened_runtime(db, reading=True) as runtime:
        now = runtime.clock.now()
        beats = runtime.store.heartbeats()
        held = runtime.store.holdings()
    table = Table("worker (host:pid)", "last pass", "state", "messages in flight")
    for worker, at in beats:
        live = now - at <= LIVE
        table.add_row(
            escape(worker),
            f"{at:%Y-%m-%d %H:%M:%S} UTC",
            "[green]live[/green]" if live else "[dim]gone[/dim]",
            str(held.pop(worker, 0)),
        )
    for worker, count in held.items():  # holding messages, never finished a pass
        table.add_row(escape(worker), "-", "[yellow]no pass yet[/yellow]", str(count))
    out.print(table)
