-- 0003: the request options an answer was given with (temperature, top_p, max_new_tokens as /chat set them),
-- so that Regenerate asks again with the same options, also after a restart. '{}' means the defaults.

ALTER TABLE conversation_turns
    ADD COLUMN request_options TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(request_options));
