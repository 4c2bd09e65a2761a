-- 0002: the server each turn was written in (NULL: a direct message, or a turn written before this version), so
-- that each process repairs at start-up only the answers of its own shards (SQLite's 0005).

ALTER TABLE conversation_turns ADD COLUMN guild_id BIGINT;
