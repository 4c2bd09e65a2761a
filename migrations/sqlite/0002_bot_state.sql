-- 0002: small facts the bot keeps about itself between runs, such as the hash of the slash commands it last
-- registered with Discord, so that a restart re-syncs them only when their definitions changed.

CREATE TABLE bot_state (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at REAL NOT NULL
) WITHOUT ROWID;
