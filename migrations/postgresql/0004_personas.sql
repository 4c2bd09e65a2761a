-- 0004: personas, instructions for the model set for a whole server (/config persona) or for one channel or thread
-- (/channel persona); NULL: none (SQLite's 0006, which says more).

ALTER TABLE guilds ADD COLUMN persona TEXT;
ALTER TABLE channels ADD COLUMN persona TEXT;
CREATE INDEX channels_with_persona ON channels (guild_id) WHERE persona IS NOT NULL;
