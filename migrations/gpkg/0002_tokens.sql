-- riskmap GeoPackage schema version 2: API tokens (SHA-256 of the token only) and the
-- page's sign-in sessions, as PostGIS schema version 6.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT     NOT NULL CONSTRAINT api_tokens_name_length CHECK (length(name) BETWEEN 1 AND 100),
    role         TEXT     NOT NULL CONSTRAINT api_tokens_role_enum CHECK (role IN ('viewer', 'editor', 'sensor', 'admin')),
    token_hash   BLOB     NOT NULL CONSTRAINT api_tokens_token_hash_unique UNIQUE,
    created_at   DATETIME NOT NULL,
    created_by   TEXT     NOT NULL,
    revoked_at   DATETIME,
    last_used_at DATETIME
);

CREATE TABLE sessions (
    id_hash    BLOB     PRIMARY KEY,
    token_id   INTEGER  NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    csrf       TEXT     NOT NULL,
    created_at DATETIME NOT NULL,
    expires_at DATETIME NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_token_idx ON sessions (token_id);
