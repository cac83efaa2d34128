-- riskmap schema version 6: who may change what. API tokens with a role, stored as a
-- SHA-256 of the token (the token itself is shown once, when it is made, and never
-- stored), and the page's sign-in sessions (the cookie holds a random session id;
-- only its SHA-256 is stored, with the CSRF token the page sends back on writes).
CREATE TABLE api_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text        NOT NULL CONSTRAINT api_tokens_name_length CHECK (char_length(name) BETWEEN 1 AND 100),
    role         text        NOT NULL CONSTRAINT api_tokens_role_enum CHECK (role IN ('viewer', 'editor', 'sensor', 'admin')),
    token_hash   bytea       NOT NULL CONSTRAINT api_tokens_token_hash_unique UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_by   text        NOT NULL,
    revoked_at   timestamptz,
    last_used_at timestamptz
);

CREATE TABLE sessions (
    id_hash    bytea       PRIMARY KEY,
    token_id   bigint      NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    csrf       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_token_idx ON sessions (token_id);
