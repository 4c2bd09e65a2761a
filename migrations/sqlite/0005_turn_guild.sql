-- 0005: the server each turn was written in (NULL: a direct message, or a turn written before this version).
-- With the bot's gateway split into shards over several processes, a guild's shard is (guild_id >> 22) % shards,
-- and each process repairs at start-up only the answers of its own shards: this column says whose they are.

ALTER TABLE conversation_turns ADD COLUMN guild_id INTEGER;
