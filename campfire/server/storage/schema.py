"""The archive's schema, as ordered migrations recorded in ``_migrations``.

Each migration is a named block of DDL;
:func:`campfire.server.storage.database.Database.migrate` applies
the ones not yet recorded, so it can run any number of times. The DDL is written in SQLite's
dialect and runs on PostgreSQL through
:func:`campfire.server.storage.postgres.translate_ddl` (column types, identities);
:data:`POSTGRES_EXTRA` holds what PostgreSQL needs beyond that (SQL functions SQLite gets from
Python). New SQL must be portable: ``?`` placeholders, ``INSERT ... ON CONFLICT``, no ``rowid``,
``json_each``, ``INSERT OR ...``, ``PRAGMA`` or SQLite-only functions.

List-valued columns (``programs``, ``gratings``, ``observations``) hold JSON arrays. Every
timestamp is an ISO-8601 UTC string with six fractional digits and ``+00:00``, so string order
is time order. ``sync_json`` columns hold the row's precomputed ``/sync/*`` JSON.

Examples
--------
>>> from campfire.server.storage.schema import MIGRATIONS
>>> MIGRATIONS[0][0]
'0001_initial'
"""

from __future__ import annotations

__all__ = ["MIGRATIONS", "POSTGRES_EXTRA", "SYSTEM_LISTS"]

_INITIAL = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);

CREATE TABLE programs (
    slug TEXT PRIMARY KEY,
    program_name TEXT,
    pi_name TEXT,
    is_public INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE observations (
    observation TEXT PRIMARY KEY,
    program_slug TEXT NOT NULL,
    field TEXT,
    pointings TEXT,
    reduction_version TEXT,
    crds_context TEXT,
    cfpipe_version TEXT,
    jwst_version TEXT,
    reduced_at TEXT,
    deployed_at TEXT,
    deployed_by TEXT,
    n_patches_since_full INTEGER NOT NULL DEFAULT 0,
    last_patch_at TEXT
);

CREATE TABLE objects (
    id INTEGER PRIMARY KEY,
    object_id TEXT UNIQUE NOT NULL,
    field TEXT,
    ra REAL,
    dec REAL,
    n_targets INTEGER NOT NULL DEFAULT 0,
    n_spectra INTEGER NOT NULL DEFAULT 0,
    programs TEXT NOT NULL DEFAULT '[]',
    programs_key TEXT NOT NULL DEFAULT '',
    gratings TEXT NOT NULL DEFAULT '[]',
    observations TEXT NOT NULL DEFAULT '[]',
    max_snr REAL,
    max_exposure_time REAL,
    redshift REAL,
    redshift_auto REAL,
    redshift_inspected REAL,
    redshift_quality INTEGER NOT NULL DEFAULT 0,
    inspected_used_auto INTEGER NOT NULL DEFAULT 0,
    last_inspected_at TEXT,
    last_inspected_by TEXT,
    last_data_change_at TEXT,
    staleness_reason TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    is_active INTEGER NOT NULL DEFAULT 1,
    has_photometry INTEGER NOT NULL DEFAULT 0,
    photo_z REAL,
    photo_z_err_lo REAL,
    photo_z_err_hi REAL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    sync_json TEXT
);
CREATE INDEX idx_objects_field ON objects(field);
CREATE INDEX idx_objects_updated ON objects(updated_at);
CREATE INDEX idx_objects_active_oid ON objects(is_active, object_id);

CREATE TABLE object_programs (
    object_pk INTEGER NOT NULL,
    program_slug TEXT NOT NULL,
    PRIMARY KEY (program_slug, object_pk)
) WITHOUT ROWID;
CREATE INDEX idx_object_programs_obj ON object_programs(object_pk);

CREATE TABLE targets (
    id INTEGER PRIMARY KEY,
    target_id TEXT UNIQUE NOT NULL,
    observation TEXT NOT NULL,
    program_slug TEXT NOT NULL,
    field TEXT,
    source_id INTEGER NOT NULL,
    ra REAL,
    dec REAL,
    object_pk INTEGER,
    max_snr REAL,
    max_exposure_time REAL,
    redshift_auto REAL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX idx_targets_object ON targets(object_pk);
CREATE INDEX idx_targets_obs ON targets(observation);
CREATE INDEX idx_targets_program ON targets(program_slug);

CREATE TABLE spectra (
    id INTEGER PRIMARY KEY,
    spectrum_id TEXT UNIQUE NOT NULL,
    target_pk INTEGER NOT NULL,
    target_id TEXT NOT NULL,
    object_pk INTEGER,
    grating TEXT NOT NULL,
    filter TEXT,
    fits_path TEXT UNIQUE NOT NULL,
    file_hash TEXT,
    file_size INTEGER,
    signal_to_noise REAL,
    exposure_time REAL,
    reduction_version TEXT,
    redshift_auto REAL,
    dq_flags INTEGER NOT NULL DEFAULT 0,
    has_zfit INTEGER NOT NULL DEFAULT 0,
    zfit_hash TEXT,
    program_slug TEXT NOT NULL,
    observation TEXT NOT NULL,
    field TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    sync_json TEXT
);
CREATE INDEX idx_spectra_target ON spectra(target_pk);
CREATE INDEX idx_spectra_object ON spectra(object_pk);
CREATE INDEX idx_spectra_obs ON spectra(observation);
CREATE INDEX idx_spectra_program ON spectra(program_slug, spectrum_id);
CREATE INDEX idx_spectra_updated ON spectra(updated_at);

CREATE TABLE photometry (
    id INTEGER PRIMARY KEY,
    object_pk INTEGER NOT NULL,
    catalog_name TEXT NOT NULL,
    catalog_id TEXT,
    field TEXT,
    match_distance_arcsec REAL,
    photometry TEXT NOT NULL,
    photo_z REAL,
    photo_z_err_lo REAL,
    photo_z_err_hi REAL,
    has_pz INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    sync_json TEXT,
    UNIQUE (object_pk, catalog_name)
);
CREATE INDEX idx_photometry_updated ON photometry(updated_at);
CREATE INDEX idx_photometry_object ON photometry(object_pk);

CREATE TABLE lists (
    id INTEGER PRIMARY KEY,
    slug TEXT UNIQUE NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    visibility TEXT NOT NULL DEFAULT 'public_read',
    is_system INTEGER NOT NULL DEFAULT 0,
    created_by TEXT,
    icon TEXT,
    color TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE list_members (
    list_id INTEGER NOT NULL,
    object_pk INTEGER NOT NULL,
    PRIMARY KEY (list_id, object_pk)
) WITHOUT ROWID;
CREATE INDEX idx_list_members_obj ON list_members(object_pk);

CREATE TABLE shutters (
    id INTEGER PRIMARY KEY,
    observation TEXT NOT NULL,
    field TEXT,
    source_id INTEGER NOT NULL,
    slitlet_id INTEGER,
    shutter_idx INTEGER,
    dither_id INTEGER,
    center_ra REAL NOT NULL,
    center_dec REAL NOT NULL,
    position_angle REAL,
    shutter_state TEXT
);
CREATE INDEX idx_shutters_field_dec ON shutters(field, center_dec);
CREATE INDEX idx_shutters_obs ON shutters(observation);

CREATE TABLE map_layers (
    id INTEGER PRIMARY KEY,
    name TEXT UNIQUE NOT NULL,
    field TEXT NOT NULL,
    filter TEXT NOT NULL,
    is_default INTEGER NOT NULL DEFAULT 0,
    path TEXT NOT NULL,
    naxis1 INTEGER NOT NULL,
    naxis2 INTEGER NOT NULL,
    wcs TEXT NOT NULL,
    file_hash TEXT
);

CREATE TABLE deployments (
    id INTEGER PRIMARY KEY,
    program_slug TEXT,
    observation TEXT,
    kind TEXT NOT NULL,
    deployed_at TEXT NOT NULL,
    deployed_by TEXT,
    report TEXT
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT UNIQUE NOT NULL,
    password_hash TEXT,
    full_name TEXT,
    is_admin INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

CREATE TABLE program_access (
    user_id TEXT NOT NULL,
    program_slug TEXT NOT NULL,
    granted_at TEXT NOT NULL,
    PRIMARY KEY (user_id, program_slug)
);

CREATE TABLE access_events (
    id INTEGER PRIMARY KEY,
    user_id TEXT,
    program_slug TEXT NOT NULL,
    gained INTEGER NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX idx_access_events_at ON access_events(at);

CREATE TABLE tombstones (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    programs TEXT NOT NULL,
    deleted_at TEXT NOT NULL
);
CREATE INDEX idx_tombstones ON tombstones(kind, deleted_at);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    key_hash TEXT UNIQUE NOT NULL,
    key_prefix TEXT NOT NULL,
    name TEXT,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    expires_at TEXT,
    is_active INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE refresh_tokens (
    id TEXT PRIMARY KEY,
    token_hash TEXT UNIQUE NOT NULL,
    user_id TEXT NOT NULL,
    device_name TEXT,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    is_revoked INTEGER NOT NULL DEFAULT 0,
    revoked_at TEXT,
    replaced_by TEXT,
    client_ip TEXT,
    user_agent TEXT
);

CREATE TABLE device_codes (
    id INTEGER PRIMARY KEY,
    device_code TEXT UNIQUE NOT NULL,
    user_code TEXT UNIQUE NOT NULL,
    user_id TEXT,
    verification_uri TEXT,
    expires_at TEXT NOT NULL,
    interval_seconds INTEGER NOT NULL DEFAULT 5,
    status TEXT NOT NULL DEFAULT 'pending',
    created_at TEXT NOT NULL,
    authorized_at TEXT,
    client_ip TEXT,
    user_agent TEXT
);

CREATE TABLE web_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
"""

#: The seeded system lists (slug, name), visible to everyone.
SYSTEM_LISTS: list[tuple[str, str]] = [
    ("lrd", "Little red dots"),
    ("blagn", "Broad-line AGN"),
    ("lae", "Lyman-alpha emitters"),
    ("bbg", "Balmer-break galaxies"),
    ("o3e", "[OIII] emitters"),
    ("hae", "Hα emitters"),
    ("qg", "Quiescent galaxies"),
    ("dusty", "Dusty galaxies"),
    ("star", "Stars"),
]

_FEED_INDEXES = """
CREATE TABLE program_keys (key TEXT PRIMARY KEY) WITHOUT ROWID;
INSERT INTO program_keys SELECT DISTINCT programs_key FROM objects WHERE true
ON CONFLICT DO NOTHING;
CREATE INDEX idx_objects_feed ON objects(is_active, object_id, programs_key, updated_at);
CREATE INDEX idx_spectra_feed ON spectra(spectrum_id, program_slug, object_pk, updated_at);
"""

# inspections (issue #10): who may write, the display name of the last inspector, a version per
# spectrum (its DQ flags), comments, the audit log of every write and the idempotency keys.
# ``last_inspected_by`` becomes the contract's user uuid: values written by earlier ingests as an
# inspector's email (or any other name) move to ``last_inspected_by_name``, and to the user's uuid
# when a user has that email. Written in SQL that PostgreSQL runs too.
_INSPECTIONS = """
ALTER TABLE users ADD COLUMN can_inspect INTEGER NOT NULL DEFAULT 0;
ALTER TABLE objects ADD COLUMN last_inspected_by_name TEXT;
ALTER TABLE spectra ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
UPDATE objects SET last_inspected_by_name = coalesce(
    (SELECT coalesce(u.full_name, u.email) FROM users u
     WHERE u.id = objects.last_inspected_by OR lower(u.email) = lower(objects.last_inspected_by)),
    last_inspected_by)
WHERE last_inspected_by IS NOT NULL;
UPDATE objects SET last_inspected_by = (SELECT u.id FROM users u
     WHERE u.id = objects.last_inspected_by OR lower(u.email) = lower(objects.last_inspected_by))
WHERE last_inspected_by IS NOT NULL;

CREATE TABLE comments (
    id INTEGER PRIMARY KEY,
    object_pk INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX idx_comments_object ON comments(object_pk, id);
CREATE INDEX idx_comments_updated ON comments(updated_at);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    user_id TEXT,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    object_id TEXT,
    old TEXT NOT NULL,
    new TEXT NOT NULL
);
CREATE INDEX idx_audit_at ON audit_log(at);
CREATE INDEX idx_audit_entity ON audit_log(entity, entity_id);
CREATE INDEX idx_audit_object ON audit_log(object_id);

CREATE TABLE idempotency_keys (
    user_id TEXT NOT NULL,
    key TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idx_idempotency_created ON idempotency_keys(created_at);
CREATE INDEX idx_lists_owner ON lists(created_by, visibility);
"""

# cone searches (issue #12): the declination band of a cone (``dec BETWEEN ? AND ?``, with the RA
# range beside it) is an index range scan on both backends, never a full scan
_CONE_INDEX = """
CREATE INDEX idx_objects_dec_ra ON objects(dec, ra);
"""

#: (name, DDL) in the order they apply.
MIGRATIONS: list[tuple[str, str]] = [
    ("0001_initial", _INITIAL),
    # covering indexes so a sync page is an index walk; program_keys lists the distinct
    # ``objects.programs_key`` values (the access filter is ``programs_key IN (...)``)
    ("0002_feed_indexes", _FEED_INDEXES),
    ("0003_inspections", _INSPECTIONS),
    ("0005_cone_index", _CONE_INDEX),
]

#: Statements run on PostgreSQL after the migration of that name: what SQLite has built in
#: (``NOCASE``) or gets from Python (``ang_dist``, the great-circle distance in degrees:
#: ``database.ang_dist_deg``).
POSTGRES_EXTRA: dict[str, str] = {
    # SQLite's ``COLLATE NOCASE`` (e-mails, grating names): a case-blind ICU collation
    "0001_initial": """
CREATE COLLATION IF NOT EXISTS nocase (provider = icu, locale = 'und-u-ks-level2',
                                       deterministic = false)
""",
    "0005_cone_index": """
CREATE OR REPLACE FUNCTION ang_dist(ra1 double precision, dec1 double precision,
                                    ra2 double precision, dec2 double precision)
RETURNS double precision LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT degrees(2 * asin(least(1.0::double precision, sqrt(
    power(sin(radians(dec2 - dec1) / 2), 2)
    + cos(radians(dec1)) * cos(radians(dec2)) * power(sin(radians(ra2 - ra1) / 2), 2)))))
$$
""",
}
