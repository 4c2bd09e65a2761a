"""The work a process owns in memory, beside what the store keeps: all of it lives and dies with the process.

Everything else the bot remembers is in the store (`bot.core.store`), where any process can read it. These three
are not; at start-up a process finds what a predecessor left in the store unfinished (answers marked `writing`,
picture requests still queued or drawing) and repairs it (`bot.app.repair`).

1. **The picture queue**, `bot.core.draw.queue.DrawQueue`: the tickets waiting and being drawn, the wake-up
   event their waiters share, and with them the limits it enforces (in all and per server, one waiting request
   per user, a bounded line). `DrawService` beside it keeps the running requests' tasks, their cancel reasons and
   the admission lock under which a quota is checked (counting the queue's tickets) and a request stored.
   Per process because the tickets are asyncio events of this event loop. Its limits are the whole bot's, so
   cluster mode moves them into the shared store: the queue's order and limits, and admission in one of its
   transactions.
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
