"""Versioned schema migrations, one list per backend, applied in order at open.

Each migration is (version, description, statements). ``schema_migrations`` records the applied
versions; a database whose version is newer than the newest one here is refused (this code
does not know its schema). Migrations are append-only: never edit an applied one, add the
next version.

Timestamps are ``timestamptz`` on PostgreSQL and integer microseconds since the Unix epoch (UTC)
on SQLite; dates are ``date`` / ISO text. The column ``"interval"`` is quoted everywhere (it is
a keyword in PostgreSQL).
"""

from __future__ import annotations

from dataclasses import dataclass

from riskengine.store.base import StoreError


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


SQLITE_BOOTSTRAP = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at INTEGER NOT NULL
)"""

POSTGRES_BOOTSTRAP = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    description text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""

SQLITE: tuple[Migration, ...] = (
    Migration(
        1,
        "instruments, ticks, bars, data quality, portfolios, reports, jobs",
        (
            """CREATE TABLE instruments (
                symbol TEXT PRIMARY KEY,
                asset_class TEXT,
                currency TEXT,
                venue_symbols TEXT NOT NULL DEFAULT '{}',
                extra TEXT NOT NULL DEFAULT '{}',
                updated_at INTEGER NOT NULL
            )""",
            # id: an integer primary key (the rowid) so a write finds the rows it inserted
            """CREATE TABLE ticks (
                id INTEGER PRIMARY KEY,
                venue TEXT NOT NULL,
                symbol TEXT NOT NULL,
                ts INTEGER NOT NULL,
                price REAL NOT NULL,
                size REAL NOT NULL,
                trade_id INTEGER NOT NULL,
                received_at INTEGER,
                UNIQUE (venue, symbol, trade_id, ts)
            )""",
            "CREATE INDEX ticks_symbol_ts ON ticks (symbol, ts)",
            """CREATE TABLE bars (
                symbol TEXT NOT NULL,
                "interval" TEXT NOT NULL,
                start INTEGER NOT NULL,
                open REAL NOT NULL,
                high REAL NOT NULL,
                low REAL NOT NULL,
                close REAL NOT NULL,
                volume REAL NOT NULL DEFAULT 0,
                trades INTEGER NOT NULL DEFAULT 0,
                source TEXT NOT NULL,
                open_ts INTEGER NOT NULL,
                close_ts INTEGER NOT NULL,
                PRIMARY KEY (symbol, "interval", start, source)
            )""",
            """CREATE TABLE data_quality (
                id INTEGER PRIMARY KEY,
                ts INTEGER NOT NULL,
                kind TEXT NOT NULL,
                symbol TEXT,
                venue TEXT,
                detail TEXT NOT NULL DEFAULT '',
                count INTEGER NOT NULL DEFAULT 1
            )""",
            "CREATE INDEX data_quality_ts ON data_quality (ts)",
            """CREATE TABLE portfolios (
                id INTEGER PRIMARY KEY,
                tenant TEXT NOT NULL,
                name TEXT NOT NULL,
                body TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            )""",
            "CREATE INDEX portfolios_tenant ON portfolios (tenant, id)",
            """CREATE TABLE risk_reports (
                id INTEGER PRIMARY KEY,
                tenant TEXT NOT NULL,
                portfolio_id INTEGER,
                as_of TEXT NOT NULL,
                method TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                body TEXT NOT NULL
            )""",
            "CREATE INDEX risk_reports_tenant ON risk_reports (tenant, portfolio_id, created_at)",
            """CREATE TABLE jobs (
                id TEXT NOT NULL,
                tenant TEXT NOT NULL,
                kind TEXT NOT NULL,
                state TEXT NOT NULL,
                progress REAL NOT NULL DEFAULT 0,
                request TEXT,
                result TEXT,
                error TEXT,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                PRIMARY KEY (tenant, id)
            )""",
        ),
    ),
    Migration(
        2,
        "latest_ticks: the latest tick per symbol, kept by each write (no (symbol, ts) index)",
        (
            """CREATE TABLE latest_ticks (
                symbol TEXT PRIMARY KEY,
                venue TEXT NOT NULL,
                ts INTEGER NOT NULL,
                price REAL NOT NULL,
                trade_id INTEGER NOT NULL
            )""",
            """INSERT INTO latest_ticks (symbol, venue, ts, price, trade_id)
            SELECT symbol, venue, ts, price, trade_id FROM (
                SELECT symbol, venue, ts, price, trade_id, row_number() OVER (
                    PARTITION BY symbol ORDER BY ts DESC, venue) AS rn FROM ticks)
            WHERE rn = 1""",
            "DROP INDEX IF EXISTS ticks_symbol_ts",
        ),
    ),
    Migration(
        3,
        "api_keys: hashed API keys, one tenant each; jobs listed by tenant and state",
        (
            """CREATE TABLE api_keys (
                key_id TEXT PRIMARY KEY,
                tenant TEXT NOT NULL,
                secret_hash TEXT NOT NULL,
                label TEXT NOT NULL DEFAULT '',
                created_at INTEGER NOT NULL,
                revoked_at INTEGER
            )""",
            "CREATE INDEX jobs_state ON jobs (state)",
        ),
    ),
    Migration(
        4,
        "ids never reused: portfolios and risk_reports AUTOINCREMENT, above every id given; "
        "reports of deleted books removed",
        (
            # SQLite hands the largest rowid + 1 to a new row, so deleting the newest book gave
            # its id (and its left-over reports) to the next one; AUTOINCREMENT never does
            """CREATE TABLE portfolios_v4 (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                tenant TEXT NOT NULL,
                name TEXT NOT NULL,
                body TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            )""",
            "INSERT INTO portfolios_v4 SELECT id, tenant, name, body, created_at, updated_at "
            "FROM portfolios",
            "DROP TABLE portfolios",
            "ALTER TABLE portfolios_v4 RENAME TO portfolios",
            "CREATE INDEX portfolios_tenant ON portfolios (tenant, id)",
            """CREATE TABLE risk_reports_v4 (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                tenant TEXT NOT NULL,
                portfolio_id INTEGER,
                as_of TEXT NOT NULL,
                method TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                body TEXT NOT NULL
            )""",
            "INSERT INTO risk_reports_v4 SELECT id, tenant, portfolio_id, as_of, method, "
            "created_at, body FROM risk_reports",
            "DROP TABLE risk_reports",
            "ALTER TABLE risk_reports_v4 RENAME TO risk_reports",
            "CREATE INDEX risk_reports_tenant ON risk_reports (tenant, portfolio_id, created_at)",
            # start above every id this database ever handed out, deleted books' included
            "DELETE FROM sqlite_sequence WHERE name IN "
            "('portfolios', 'risk_reports', 'portfolios_v4', 'risk_reports_v4')",
            """INSERT INTO sqlite_sequence (name, seq) SELECT 'portfolios', max(
                (SELECT coalesce(max(id), 0) FROM portfolios),
                (SELECT coalesce(max(portfolio_id), 0) FROM risk_reports),
                (SELECT coalesce(max(CAST(json_extract(request, '$.portfolio_id') AS INTEGER)), 0)
                 FROM jobs WHERE json_valid(request)))""",
            "INSERT INTO sqlite_sequence (name, seq) "
            "SELECT 'risk_reports', coalesce(max(id), 0) FROM risk_reports",
            "DELETE FROM risk_reports WHERE portfolio_id IS NOT NULL "
            "AND portfolio_id NOT IN (SELECT id FROM portfolios)",
        ),
    ),
    Migration(
        5,
        "bars keep the (venue, trade id) of their open and close ticks: ties in time follow the "
        "tick order (ts, venue, trade_id), as the latest price does",
        (
            "ALTER TABLE bars ADD COLUMN open_venue TEXT",
            "ALTER TABLE bars ADD COLUMN open_trade_id INTEGER",
            "ALTER TABLE bars ADD COLUMN close_venue TEXT",
            "ALTER TABLE bars ADD COLUMN close_trade_id INTEGER",
        ),
    ),
)

POSTGRES: tuple[Migration, ...] = (
    Migration(
        1,
        "instruments, ticks, bars, data quality, portfolios, reports, jobs",
        (
            """CREATE TABLE instruments (
                symbol text PRIMARY KEY,
                asset_class text,
                currency text,
                venue_symbols json NOT NULL DEFAULT '{}',
                extra json NOT NULL DEFAULT '{}',
                updated_at timestamptz NOT NULL
            )""",
            # no surrogate key: a TimescaleDB hypertable needs every unique key to include ts.
            # COLLATE "C": byte order (as SQLite), and cheaper index upkeep than a locale's
            """CREATE TABLE ticks (
                venue text COLLATE "C" NOT NULL,
                symbol text COLLATE "C" NOT NULL,
                ts timestamptz NOT NULL,
                price double precision NOT NULL,
                size double precision NOT NULL,
                trade_id bigint NOT NULL,
                received_at timestamptz,
                CONSTRAINT ticks_key UNIQUE (venue, symbol, trade_id, ts)
            )""",
            "CREATE INDEX ticks_symbol_ts ON ticks (symbol, ts DESC)",
            """CREATE TABLE bars (
                symbol text COLLATE "C" NOT NULL,
                "interval" text NOT NULL,
                start timestamptz NOT NULL,
                open double precision NOT NULL,
                high double precision NOT NULL,
                low double precision NOT NULL,
                close double precision NOT NULL,
                volume double precision NOT NULL DEFAULT 0,
                trades bigint NOT NULL DEFAULT 0,
                source text NOT NULL,
                open_ts timestamptz NOT NULL,
                close_ts timestamptz NOT NULL,
                PRIMARY KEY (symbol, "interval", start, source)
            )""",
            """CREATE TABLE data_quality (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                ts timestamptz NOT NULL,
                kind text NOT NULL,
                symbol text,
                venue text,
                detail text NOT NULL DEFAULT '',
                count bigint NOT NULL DEFAULT 1
            )""",
            "CREATE INDEX data_quality_ts ON data_quality (ts)",
            """CREATE TABLE portfolios (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                tenant text NOT NULL,
                name text NOT NULL,
                body json NOT NULL,
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL
            )""",
            "CREATE INDEX portfolios_tenant ON portfolios (tenant, id)",
            """CREATE TABLE risk_reports (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                tenant text NOT NULL,
                portfolio_id bigint,
                as_of date NOT NULL,
                method text NOT NULL,
                created_at timestamptz NOT NULL,
                body json NOT NULL
            )""",
            "CREATE INDEX risk_reports_tenant ON risk_reports (tenant, portfolio_id, created_at)",
            """CREATE TABLE jobs (
                id text NOT NULL,
                tenant text NOT NULL,
                kind text NOT NULL,
                state text NOT NULL,
                progress double precision NOT NULL DEFAULT 0,
                request json,
                result json,
                error text,
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL,
                PRIMARY KEY (tenant, id)
            )""",
        ),
    ),
    Migration(
        2,
        "latest_ticks: the latest tick per symbol, kept by each write (no (symbol, ts) index)",
        (
            """CREATE TABLE latest_ticks (
                symbol text COLLATE "C" PRIMARY KEY,
                venue text COLLATE "C" NOT NULL,
                ts timestamptz NOT NULL,
                price double precision NOT NULL,
                trade_id bigint NOT NULL
            )""",
            """INSERT INTO latest_ticks (symbol, venue, ts, price, trade_id)
            SELECT DISTINCT ON (symbol) symbol, venue, ts, price, trade_id FROM ticks
            ORDER BY symbol, ts DESC, venue""",
            # each tick paid for this index on every write (about a third of the COPY rate);
            # latest prices now come from latest_ticks
            "DROP INDEX IF EXISTS ticks_symbol_ts",
        ),
    ),
    Migration(
        3,
        "api_keys: hashed API keys, one tenant each; jobs listed by tenant and state",
        (
            """CREATE TABLE api_keys (
                key_id text PRIMARY KEY,
                tenant text NOT NULL,
                secret_hash text NOT NULL,
                label text NOT NULL DEFAULT '',
                created_at timestamptz NOT NULL,
                revoked_at timestamptz
            )""",
            "CREATE INDEX jobs_state ON jobs (state)",
        ),
    ),
    Migration(
        4,
        "reports of deleted books removed (identity columns never reuse an id)",
        (
            "DELETE FROM risk_reports WHERE portfolio_id IS NOT NULL "
            "AND portfolio_id NOT IN (SELECT id FROM portfolios)",
        ),
    ),
    Migration(
        5,
        "bars keep the (venue, trade id) of their open and close ticks: ties in time follow the "
        "tick order (ts, venue, trade_id), as the latest price does",
        (
            'ALTER TABLE bars ADD COLUMN open_venue text COLLATE "C"',
            "ALTER TABLE bars ADD COLUMN open_trade_id bigint",
            'ALTER TABLE bars ADD COLUMN close_venue text COLLATE "C"',
            "ALTER TABLE bars ADD COLUMN close_trade_id bigint",
        ),
    ),
    Migration(
        6,
        "ticks keyed by time first (one index serves de-duplication and time ranges); the "
        "highest trade id of each (venue, symbol) kept by each write in max_trade_ids",
        (
            # the writes' fast path asks for these; the key no longer leads with (venue, symbol)
            """CREATE TABLE max_trade_ids (
                venue text COLLATE "C" NOT NULL,
                symbol text COLLATE "C" NOT NULL,
                trade_id bigint NOT NULL,
                PRIMARY KEY (venue, symbol)
            )""",
            """INSERT INTO max_trade_ids (venue, symbol, trade_id)
            SELECT venue, symbol, max(trade_id) FROM ticks GROUP BY venue, symbol""",
            # ticks arrive in time order: a key that leads with ts is appended at its right
            # edge instead of inserted across the (venue, symbol) pairs (about a third of the
            # COPY rate), and TimescaleDB's refreshes read time ranges through it, so the
            # hypertable's own index on ts goes too
            "ALTER TABLE ticks DROP CONSTRAINT ticks_key",
            "ALTER TABLE ticks ADD CONSTRAINT ticks_key UNIQUE (ts, venue, symbol, trade_id)",
            "DROP INDEX IF EXISTS ticks_ts_idx",
        ),
    ),
)


def latest(migrations: tuple[Migration, ...]) -> int:
    return max((m.version for m in migrations), default=0)


def pending(migrations: tuple[Migration, ...], current: int, where: str) -> list[Migration]:
    """Migrations above ``current``, in order; StoreError when ``current`` is newer than the
    code knows."""
    newest = latest(migrations)
    if current > newest:
        raise StoreError(
            f"the database at {where} has schema version {current}, newer than this riskengine "
            f"knows (up to {newest}): upgrade riskengine, or point RISKENGINE_DATABASE_URL at "
            "another database."
        )
    return sorted((m for m in migrations if m.version > current), key=lambda m: m.version)
