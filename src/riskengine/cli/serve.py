"""``riskengine serve``, ``riskengine demo`` and ``riskengine keys`` (docs/api.md)."""

from __future__ import annotations

from pathlib import Path

from riskengine.errors import InputError


def add_serve(sub) -> None:
    p = sub.add_parser(
        "serve",
        help="serve the HTTP API and the page (settings: RISKENGINE_* variables)",
        description="Serve the API (and the page) until interrupted. Settings come from "
        "RISKENGINE_* environment variables (docs/api.md#settings); the options override them.",
    )
    p.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default 8000)")
    p.add_argument("--database", default=None, help="store URL (default $RISKENGINE_DATABASE_URL)")


def _settings(args, **forced):
    from riskengine.service.settings import Settings

    pairs = (("host", "host"), ("port", "port"), ("database_url", "database"))
    overrides = {k: getattr(args, a) for k, a in pairs if getattr(args, a, None) is not None}
    overrides = {k: v for k, v in overrides.items() if k not in forced}
    return Settings.from_env(**overrides, **forced)


def run_serve(args) -> str:
    from riskengine.api.observe import configure_logging
    from riskengine.api.server import serve

    settings = _settings(args)
    configure_logging(settings.log_format, settings.log_level)
    serve(settings)
    return "stopped"


def add_demo(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="the one-command demo: bundled history, simulated feed, ingestion, API and page",
        description="Import the bundled history into an embedded store, start the simulated "
        "feed and ingestion, load a demo book of stocks and options, and serve the API and "
        "the page on 127.0.0.1 without API keys. Ctrl-C stops it.",
    )
    root = Path(__file__).resolve().parents[3]
    p.add_argument(
        "--prices",
        default=str(root / "data" / "us_equities_daily.csv"),
        help="daily closes to import (default: the bundled data)",
    )
    p.add_argument(
        "--book",
        default=str(root / "examples" / "book.json"),
        help="the demo book (default: examples/book.json)",
    )
    p.add_argument(
        "--database",
        default="sqlite:///riskengine-demo.sqlite3",
        help="store URL (default: riskengine-demo.sqlite3 here, emptied at each start)",
    )
    p.add_argument(
        "--port", type=int, default=None, help="port (default $RISKENGINE_PORT, else 8000)"
    )
    p.add_argument("--rate", type=float, default=40.0, help="simulated trades per second")


def run_demo(args) -> str:
    from riskengine.api.observe import configure_logging
    from riskengine.api.server import run_demo as demo

    for name in ("prices", "book"):
        if not Path(getattr(args, name)).exists():
            raise InputError(
                f"--{name} {getattr(args, name)!r} does not exist; give the path "
                "of the file (run from the project's root for the defaults)."
            )
    if args.rate <= 0:
        raise InputError(f"--rate {args.rate}: trades per second must be > 0.")
    settings = _settings(args, host="127.0.0.1", auth=False)
    configure_logging("text", "warning")
    demo(settings, prices=Path(args.prices), book=Path(args.book), rate=args.rate)
    return "demo stopped"


def add_keys(sub) -> None:
    p = sub.add_parser(
        "keys",
        help="create, list and revoke API keys",
        description="API keys for `riskengine serve` (stored hashed).",
    )
    p.add_argument("--database", default=None, help="store URL (default $RISKENGINE_DATABASE_URL)")
    s = p.add_subparsers(dest="keys_command", required=True)
    c = s.add_parser("create", help="a new key for a tenant (printed once)")
    c.add_argument("--tenant", required=True, help="the tenant the key acts for")
    c.add_argument("--label", default="", help="a note on who uses the key")
    lst = s.add_parser("list", help="keys (ids, tenants, labels; never the secrets)")
    lst.add_argument("--tenant", default=None)
    r = s.add_parser("revoke", help="revoke a key by its id (the part after rk_)")
    r.add_argument("key_id")


def run_keys(args) -> str:
    from riskengine.service.keys import create_key
    from riskengine.store.open import open_store

    store = open_store(args.database)
    try:
        if args.keys_command == "create":
            key = create_key(store, args.tenant, args.label)
            return (
                f"{key.key}\n(key id {key.key_id}, tenant {key.tenant}; shown once: store it now)"
            )
        if args.keys_command == "revoke":
            if not store.revoke_api_key(args.key_id):
                raise InputError(
                    f"no active key with id {args.key_id!r}; list them with riskengine keys list."
                )
            return f"revoked {args.key_id}"
        rows = store.api_keys(tenant=args.tenant)
        lines = [f"{'key id':<14} {'tenant':<20} {'created':<20} {'revoked':<20} label"]
        for k in rows:
            revoked = k["revoked_at"].strftime("%Y-%m-%d %H:%M") if k["revoked_at"] else "-"
            lines.append(
                f"{k['key_id']:<14} {k['tenant']:<20} "
                f"{k['created_at'].strftime('%Y-%m-%d %H:%M'):<20} {revoked:<20} "
                f"{k['label']}"
            )
        return "\n".join(lines)
    finally:
        store.close()
