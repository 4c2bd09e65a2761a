-- 0003: the picture queue every process shares (`bot.core.draw.shared_queue`): one row per request waiting or
-- being drawn, deleted when it leaves. `position` orders the line first come, first served across processes;
-- `owner_pid`/`owner_started` name the owning process by its listening connection (pg_stat_activity's `pid` and
-- `backend_start`), so the rows of a process that died can be told apart and forgotten. The picture records
-- themselves stay in image_generations; a row here only holds a place. PostgreSQL only: SQLite has one process.

CREATE TABLE picture_queue (
    generation_id BIGINT PRIMARY KEY,
    position      BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    user_id       BIGINT  NOT NULL,
    guild_id      BIGINT,                                    -- NULL: a direct message
    server        BIGINT  NOT NULL,                          -- the per-server limit's key: guild_id, or -user_id
    prompt        TEXT    NOT NULL,
    user_name     TEXT    NOT NULL DEFAULT '',
    state         TEXT    NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'drawing')),
    owner_pid     INTEGER NOT NULL,
    owner_started TIMESTAMPTZ NOT NULL,
    created_at    DOUBLE PRECISION NOT NULL DEFAULT extract(epoch FROM clock_timestamp()),
    started_at    DOUBLE PRECISION                           -- when it left the line to be drawn
);
CREATE INDEX picture_queue_line ON picture_queue (state, position);
CREATE INDEX picture_queue_by_user ON picture_queue (user_id);

-- The rows whose owner is alive: its backend still runs (when the reader may not see another role's
-- backend_start, the pid alone decides).
CREATE VIEW picture_queue_live AS
SELECT q.*
FROM picture_queue AS q
WHERE EXISTS (
    SELECT 1 FROM pg_stat_activity AS a
    WHERE a.pid = q.owner_pid AND (a.backend_start IS NULL OR a.backend_start = q.owner_started)
);
