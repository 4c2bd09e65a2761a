-- 0006: personas, instructions for the model (its tone, language, role) that a server manager sets for a whole
-- server (/config persona) or for one channel or thread (/channel persona); NULL: none. The bot sends the one that
-- applies first in every request there (`bot.core.personas`). Their length (at most 1,500 characters) is checked
-- by the bot, not here, so that another limit later needs no migration. The index serves /config show, which
-- lists a server's channels that have a persona of their own.

ALTER TABLE guilds ADD COLUMN persona TEXT;
ALTER TABLE channels ADD COLUMN persona TEXT;
CREATE INDEX channels_with_persona ON channels (guild_id) WHERE persona IS NOT NULL;
