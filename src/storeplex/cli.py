"""The `storeplex` command line: serve, db upgrade, demo, create-store, create-admin, emulator.

Every command reads settings from the environment first; a bad value stops
the command with a message naming the variable (exit code 2).
"""

from __future__ import annotations

import asyncio
import getpass
import os
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
import uvicorn

from storeplex.config import Settings, SettingsError, load_settings
from storeplex.db import Database
from storeplex.errors import StoreplexError
from storeplex.files import write_private
from storeplex.serving import server_config

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from storeplex.demo import DemoLogin
    from storeplex.models import PlatformAdmin, Store

T = TypeVar("T")
Work = Callable[["AsyncSession"], Awaitable[T]]

app = typer.Typer(help="Storeplex: many stores on one platform, paid through Stripe Connect.")
db_app = typer.Typer(help="Database schema.")
app.add_typer(db_app, name="db")


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


async def _in_transaction(settings: Settings, work: Work[T]) -> T:
    database = Database(settings)
    try:
        async with database.session_scope() as session:
            return await work(session)
    finally:
        await database.dispose()


def _run(settings: Settings, work: Work[T]) -> T:
    """Run `work(session)` in one transaction; a StoreplexError prints its message, exit 1."""
    from storeplex.migrate import DatabaseNotMigrated, check_migrated

    async def main() -> T:
        await check_migrated(settings)
        return await _in_transaction(settings, work)

    try:
        return asyncio.run(main())
    except DatabaseNotMigrated as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    except StoreplexError as exc:
        typer.echo(f"Error: {exc.message}", err=True)
        raise typer.Exit(1) from None


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the schema migrations (SQLite or PostgreSQL) up to the head revision."""
    from storeplex.migrate import upgrade

    settings = _settings()
    upgrade(settings, revision)
    typer.echo(f"Database is at revision {revision}.")


@db_app.command("current")
def db_current() -> None:
    """Print the database's revision and the revision this code needs."""
    from storeplex.migrate import current_revision, head_revision

    settings = _settings()
    current = asyncio.run(current_revision(settings.database_url))
    typer.echo(f"database: {current or 'empty'}; code needs: {head_revision()}")


def _print_logins(settings: Settings, logins: Sequence[DemoLogin]) -> None:
    """Show where to log in; the generated passwords go to a 0600 file, not to the console."""
    if not logins:
        typer.echo("Demo data already exists; nothing created.")
        return
    path = settings.data_dir / "demo-logins.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    typer.echo("Demo data created:")
    for login in logins:
        if login.store_slug:
            typer.echo(f"  storefront   {settings.base_url}/s/{login.store_slug}/")
            typer.echo(f"  store admin  {settings.base_url}/admin/login  as {login.email}")
        else:
            typer.echo(f"  platform     {settings.base_url}/platform/login  as {login.email}")
        lines.append(f"{login.email} {login.password}")
    write_private(path, "\n".join(lines) + "\n")
    typer.echo(f"The demo passwords are in {path} (email, then password, one login a line).")


@app.command()
def demo() -> None:
    """Create two demo stores with products and staff users, and a platform admin."""
    from storeplex.demo import create_demo

    settings = _settings()
    if settings.is_production:
        typer.echo("Demo data is never created in production (STOREPLEX_ENV=production).", err=True)
        raise typer.Exit(2)
    _print_logins(settings, _run(settings, create_demo))


@app.command("create-store")
def create_store_cmd(
    slug: Annotated[str, typer.Option(help="URL name: /s/<slug>/")],
    name: Annotated[str, typer.Option(help="Display name")],
    owner_email: Annotated[str, typer.Option(help="The owner's login email")],
    business_email: Annotated[str | None, typer.Option(help="Defaults to the owner email")] = None,
    country: str = "LU",
    currency: str = "EUR",
) -> None:
    """Create a store and its owner; asks for the owner's password."""
    from storeplex.stores.service import create_store

    settings = _settings()
    password = _ask_password()

    async def work(session: AsyncSession) -> Store:
        store, _ = await create_store(
            session,
            slug=slug,
            name=name,
            business_email=business_email or owner_email,
            country=country,
            currency=currency,
            owner_email=owner_email,
            owner_password=password,
        )
        return store

    store = _run(settings, work)
    typer.echo(f"Created store {store.slug} (id {store.id}): {settings.base_url}/s/{store.slug}/")


@app.command("create-admin")
def create_admin_cmd(email: Annotated[str, typer.Option(help="The admin's login email")]) -> None:
    """Create a platform admin; asks for the password."""
    from storeplex.auth.service import create_platform_admin

    settings = _settings()
    password = _ask_password()

    async def work(session: AsyncSession) -> PlatformAdmin:
        return await create_platform_admin(session, email=email, password=password)

    admin = _run(settings, work)
    typer.echo(f"Created platform admin {admin.email}.")


def _ask_password() -> str:
    if not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat: ") != password:
            typer.echo("The passwords differ.", err=True)
            raise typer.Exit(1)
    return password


class _QuietSignalsServer(uvicorn.Server):
    """A second server in the same loop; the main server owns the signal handlers."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    emulator: Annotated[
        bool, typer.Option(help="Run the Stripe emulator in this process (emulator mode only)")
    ] = True,
) -> None:
    """Serve the platform (and, with no Stripe key set, the bundled Stripe emulator)."""
    from storeplex.app import create_app
    from storeplex.migrate import DatabaseNotMigrated, check_migrated
    from storeplex.observability import configure_logging

    settings = _settings()
    if "STOREPLEX_BASE_URL" not in os.environ:
        public_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
        settings = settings.model_copy(update={"base_url": f"http://{public_host}:{port}"})
    configure_logging(settings.log_level)
    try:
        asyncio.run(check_migrated(settings))
    except DatabaseNotMigrated as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None

    demo_created = False
    if settings.creates_demo_data:
        from storeplex.demo import create_demo, has_any_store

        async def first_start(session: AsyncSession) -> list[DemoLogin]:
            return [] if await has_any_store(session) else await create_demo(session)

        logins = asyncio.run(_in_transaction(settings, first_start))
        if logins:
            _print_logins(settings, logins)
            demo_created = True

    servers: list[uvicorn.Server] = []
    if settings.emulator_enabled and emulator:
        from storeplex.stripe.keys import resolve_keys
        from stripe_emulator.app import create_app as create_emulator

        emulator_app = create_emulator(
            public_url=settings.emulator_url,
            state_file=str(settings.data_dir / "stripe-emulator.json"),
            api_keys=[resolve_keys(settings).secret_key],
        )
        servers.append(
            _QuietSignalsServer(
                uvicorn.Config(
                    emulator_app,
                    host=settings.emulator_host,
                    port=settings.emulator_port,
                    log_level="warning",
                )
            )
        )

    async def run_all() -> None:
        tasks = [asyncio.create_task(s.serve()) for s in servers]
        if settings.emulator_enabled:
            await _register_with_emulator(settings, servers)
            if demo_created:
                from storeplex.demo import onboard_demo_stores

                ready = await onboard_demo_stores(settings)
                typer.echo(f"Demo stores set up to take card payments: {', '.join(ready)}")
        web = create_app(settings)
        # Read timeouts and a connection cap: storeplex.serving.
        main = uvicorn.Server(server_config(web, settings, host=host, port=port))
        main_task = asyncio.create_task(main.serve())
        while not main.started and not main_task.done():
            await asyncio.sleep(0.05)
        background: asyncio.Task[None] | None = None
        if main.started and settings.runs_embedded_worker:
            background = asyncio.create_task(_embedded_worker(settings))
        if main.started:
            typer.echo(f"Storeplex is running at {settings.base_url}/  (Ctrl+C to stop)")
            if settings.emulator_enabled:
                typer.echo(
                    f"Stripe: the bundled emulator at {settings.emulator_url} (no real money)"
                )
            else:
                typer.echo("Stripe: the real API with the configured keys")
            if background is not None:
                typer.echo(
                    "Background jobs (webhook retries, reconciliation, payouts) run in this "
                    "process; in production run `storeplex worker` instead"
                )
        await main_task
        if background is not None:
            background.cancel()
            with suppress(asyncio.CancelledError):
                await background
        for server in servers:
            server.should_exit = True
        await asyncio.gather(*tasks)

    asyncio.run(run_all())


async def _embedded_worker(settings: Settings) -> None:
    """The background jobs of `storeplex worker`, inside the server (development default)."""
    from storeplex.worker import run_worker

    await run_worker(
        settings,
        interval_seconds=settings.worker_interval_seconds,
        reconcile_every_seconds=settings.reconcile_every_seconds,
    )


async def _register_with_emulator(settings: Settings, servers: list[uvicorn.Server]) -> None:
    """Wait for the emulator, then register our webhook endpoints with it."""
    from storeplex.stripe.listen import register_webhook_endpoints

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while servers and not servers[0].started and loop.time() < deadline:
        await asyncio.sleep(0.05)
    for attempt in range(50):
        try:
            await register_webhook_endpoints(settings)
            return
        except StoreplexError:
            if attempt == 49:
                raise
            await asyncio.sleep(0.2)


@app.command()
def worker(
    once: Annotated[bool, typer.Option(help="Do one round and exit")] = False,
    interval: Annotated[
        float | None,
        typer.Option(help="Seconds between rounds [default: STOREPLEX_WORKER_INTERVAL_SECONDS]"),
    ] = None,
) -> None:
    """Retry failed webhook events with backoff, reconcile with Stripe and run the payout job.

    Any number of workers may run at once against one database."""
    from storeplex.observability import configure_logging
    from storeplex.worker import run_worker

    settings = _settings()
    configure_logging(settings.log_level)
    asyncio.run(
        run_worker(
            settings,
            once=once,
            interval_seconds=interval or settings.worker_interval_seconds,
            reconcile_every_seconds=settings.reconcile_every_seconds,
        )
    )


@app.command()
def reconcile() -> None:
    """Re-read pending payments and unfinished accounts from Stripe; retry failed events."""
    from storeplex.db import Database
    from storeplex.stripe.gateway import StripeGateway
    from storeplex.worker import reconcile as run_reconcile

    settings = _settings()

    async def main() -> str:
        database = Database(settings)
        try:
            report = await run_reconcile(database, StripeGateway(settings), settings)
        finally:
            await database.dispose()
        for error in report.errors:
            typer.echo(f"  could not check {error}", err=True)
        return report.summary()

    typer.echo(asyncio.run(main()))


@app.command("emulator")
def emulator_cmd(
    host: str = "127.0.0.1",
    port: int = 12111,
    state_file: Annotated[str | None, typer.Option(help="Keep state in this file")] = None,
    api_key: Annotated[
        list[str] | None, typer.Option(help="A secret key to accept (repeatable); else one is made")
    ] = None,
    country: Annotated[str, typer.Option(help="Country of the platforms of --api-key")] = "LU",
) -> None:
    """Run the Stripe emulator on its own."""
    from stripe_emulator.__main__ import main as emulator_main

    argv = ["--host", host, "--port", str(port), "--country", country]
    if state_file:
        argv += ["--state-file", state_file]
    for key in api_key or []:
        argv += ["--api-key", key]
    emulator_main(argv)


# Payouts (issue 6): the platform's payout job for stores with a minimum payout.
reports_app = typer.Typer(help="Statements and the daily totals behind them.")
app.add_typer(reports_app, name="reports")


@reports_app.command("check-totals")
def reports_check_totals() -> None:
    """Compare the daily totals with the payments, refunds and disputes; exit 1 on a difference."""
    from storeplex.ledger import totals_drift
    from storeplex.models.totals import FIGURES

    drift = _run(_settings(), totals_drift)
    for row in drift:
        store_id, day, currency = row.key
        changes = ", ".join(
            f"{name} {have} != {want}"
            for name, have, want in zip(FIGURES, row.stored, row.recomputed, strict=True)
            if have != want
        )
        typer.echo(f"store {store_id} {day} {currency}: {changes}")
    typer.echo(f"{len(drift)} daily totals rows differ from the payments")
    if drift:
        raise typer.Exit(1)


@reports_app.command("rebuild-totals")
def reports_rebuild_totals() -> None:
    """Recompute every daily totals row from the payments, refunds and disputes."""
    from storeplex.ledger import rebuild_totals

    typer.echo(f"{_run(_settings(), rebuild_totals)} daily totals rows written")


payouts_app = typer.Typer(help="Payouts to the stores' banks.")
app.add_typer(payouts_app, name="payouts")


@payouts_app.command("run")
def payouts_run() -> None:
    """Pay out stores whose schedule is due and whose balance has reached their minimum."""
    from storeplex.db import Database
    from storeplex.payouts.service import run_payouts
    from storeplex.stripe.gateway import StripeGateway

    settings = _settings()

    async def main() -> str:
        database = Database(settings)
        try:
            report = await run_payouts(database, StripeGateway(settings))
        finally:
            await database.dispose()
        return report.summary()

    typer.echo(asyncio.run(main()))


if __name__ == "__main__":
    app()
