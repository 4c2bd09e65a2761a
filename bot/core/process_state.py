"""The work a process owns in memory, beside what the store keeps: it lives and dies with the process (but for the
picture queue's line, which in cluster mode is shared: see 1).

Everything else the bot remembers is in the store (`bot.core.store`), where any process can read it. These three
are not; at start-up a process finds what a predecessor left in the store unfinished (answers marked `writing`,
picture requests still queued or drawing) and repairs it (`bot.app.repair`).

1. **The picture queue**, a `bot.core.draw.queue.PictureQueue`: the tickets waiting and being drawn, the
   wake-up event their waiters share, and with them the limits it enforces (in all and per server, one waiting
   request per user, a bounded line), and the admission lock under which `DrawService` checks a quota (counting
   the queue's tickets) and stores a request. `DrawService` beside it keeps the running requests' tasks and their
   cancel reasons. The tickets are asyncio events of this event loop, so they stay per process; but the limits
   are the whole bot's, so when DATABASE_URL is PostgreSQL (cluster mode) the queue is
   `bot.core.draw.shared_queue.SharedDrawQueue`: the line, its order and its limits are rows of the shared
   database, changed under one advisory lock, each process woken by NOTIFY, and admission is a user's advisory
   lock held across every process. Only each ticket's waiter stays here; a process that dies leaves rows that
   the others forget. With SQLite (one process) it is the in-memory `DrawQueue`, and all of it lives and dies
   with the process.
2. **The answers being written**, `bot.core.chat.ChatService`: `_streams` (answer id to the task reading its
   stream from the fusion API, which Stop cancels), `_claims` (answer id to the event set once it is stored: one
   stream per answer, a second Regenerate refused) and `_answers` (the tasks answering, awaited at shutdown).
   Per process because a stream is an open connection of this process. They stay so in cluster mode: a
   channel's messages and button presses all reach the process of its guild's shard; what moves is the
   start-up repair, each process repairing only its own shards' answers.
3. **Each channel's answer order**, `cogs.chat.conversations.ChannelTurns`: per channel, the lock held while
   one message is answered and the count of messages holding or waiting for it (refused past `max_waiting`).
   Per process, and staying so for the same reason: one channel, one shard, one process.
"""
