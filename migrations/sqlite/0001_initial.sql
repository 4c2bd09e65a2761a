-- 0001: everything the bot remembers, designed together so later features fit one coherent schema.
-- Conversations are kept per channel (a thread is its own channel; the console uses channel 0). A reset moves a
-- channel's context start forward; the turns before it stay for audit until someone asks for deletion.
-- Settings, image generations and usage are here already so that /draw buttons, server controls, cooldowns and
-- quotas survive restarts without reshaping this file.

CREATE TABLE channels (
    channel_id            INTEGER PRIMARY KEY,
    guild_id              INTEGER,
    context_after_turn_id INTEGER NOT NULL DEFAULT 0,      -- turns with an id up to this one were reset
    conversations_enabled INTEGER NOT NULL DEFAULT 0 CHECK (conversations_enabled IN (0, 1)),
    defaults              TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(defaults)),
    updated_at            REAL    NOT NULL
);

CREATE TABLE conversation_turns (
    id          INTEGER PRIMARY KEY,
    channel_id  INTEGER NOT NULL,
    role        TEXT    NOT NULL CHECK (role IN ('user', 'assistant')),
    content     TEXT    NOT NULL,
    tokens      INTEGER NOT NULL CHECK (tokens >= 0),       -- estimated once, when written
    author_id   INTEGER,
    author_name TEXT,
    message_ids TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(message_ids)),  -- Discord messages of the reply
    complete    INTEGER NOT NULL DEFAULT 1 CHECK (complete IN (0, 1)),
    created_at  REAL    NOT NULL,
    updated_at  REAL    NOT NULL
);
CREATE INDEX conversation_turns_by_channel ON conversation_turns (channel_id, id);

CREATE TABLE guilds (
    guild_id              INTEGER PRIMARY KEY,
    defaults              TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(defaults)),  -- model, size, temperature
    chat_cooldown_seconds REAL    NOT NULL DEFAULT 0 CHECK (chat_cooldown_seconds >= 0),
    updated_at            REAL    NOT NULL
);

-- An empty allow list means no restriction.
CREATE TABLE guild_allowed_channels (
    guild_id   INTEGER NOT NULL REFERENCES guilds (guild_id) ON DELETE CASCADE,
    channel_id INTEGER NOT NULL,
    PRIMARY KEY (guild_id, channel_id)
) WITHOUT ROWID;

CREATE TABLE guild_allowed_roles (
    guild_id INTEGER NOT NULL REFERENCES guilds (guild_id) ON DELETE CASCADE,
    role_id  INTEGER NOT NULL,
    PRIMARY KEY (guild_id, role_id)
) WITHOUT ROWID;

CREATE TABLE image_generations (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER,
    channel_id  INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    prompt      TEXT    NOT NULL,
    model       TEXT    NOT NULL,
    size        TEXT    NOT NULL,
    seed        INTEGER NOT NULL,
    scale       INTEGER NOT NULL,
    controlnet  TEXT    NOT NULL DEFAULT '',
    status      TEXT    NOT NULL DEFAULT 'queued'
                CHECK (status IN ('queued', 'drawing', 'done', 'refused', 'failed', 'cancelled')),
    message_id  INTEGER,
    error       TEXT,
    created_at  REAL    NOT NULL,
    finished_at REAL
);
CREATE INDEX image_generations_by_user ON image_generations (user_id, created_at);

CREATE TABLE usage_events (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    guild_id   INTEGER,
    kind       TEXT    NOT NULL CHECK (kind IN ('chat', 'draw')),
    tokens     INTEGER NOT NULL DEFAULT 0,
    created_at REAL    NOT NULL
);
CREATE INDEX usage_events_by_user ON usage_events (user_id, kind, created_at);
