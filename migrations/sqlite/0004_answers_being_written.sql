-- 0004: which answers are being written right now, so that a process that died (SIGKILL, OOM, power cut) leaves
-- enough behind for the next start-up to repair their messages: the answer's message ids and the text shown so
-- far are stored as it streams, and `writing` says it has not been recorded as finished. Picture requests need no
-- column: their status ('queued', 'drawing') says the same, and their message id is now stored when first shown.

ALTER TABLE conversation_turns
    ADD COLUMN writing INTEGER NOT NULL DEFAULT 0 CHECK (writing IN (0, 1));
CREATE INDEX conversation_turns_being_written ON conversation_turns (id) WHERE writing = 1;
