-- 0007: what chat spends, for /usage, /config usage and the daily chat quotas. One row per answer that ended
-- (a Regenerate is an answer of its own): who asked, in which server (NULL: a direct message), and its tokens, the
-- API's `usage` or, when the API sent none or the answer was cut short, the bot's estimate (`estimated`). The
-- quotas are summed from these rows at each question, so a restart or another process sees the same totals. A
-- day is a UTC calendar day; a day's or 30 days' sums are range scans of the indexes below. `answer_id` names the
-- answer's turn without a foreign key: deleting a conversation does not undo what it cost.

CREATE TABLE chat_usage (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    guild_id   INTEGER,
    answer_id  INTEGER,
    tokens     INTEGER NOT NULL CHECK (tokens >= 0),
    estimated  INTEGER NOT NULL DEFAULT 0 CHECK (estimated IN (0, 1)),
    created_at REAL    NOT NULL
);
CREATE INDEX chat_usage_by_server ON chat_usage (guild_id, created_at);
CREATE INDEX chat_usage_by_member ON chat_usage (user_id, guild_id, created_at);

-- A server's own daily chat quotas, in tokens (0: none of its own). They only tighten the bot's settings
-- (CHAT_DAILY_TOKENS_PER_USER, CHAT_DAILY_TOKENS_PER_SERVER), so a server cannot spend more than the bot allows.
CREATE TABLE guild_chat_quotas (
    guild_id   INTEGER PRIMARY KEY,
    per_member INTEGER NOT NULL DEFAULT 0 CHECK (per_member >= 0),
    per_server INTEGER NOT NULL DEFAULT 0 CHECK (per_server >= 0),
    updated_at REAL    NOT NULL
);

-- /config usage counts a server's pictures of the day and of 30 days.
CREATE INDEX image_generations_by_server ON image_generations (guild_id, created_at);
