"""What every Discord feature shares: the client (`client`), the command tree and its private answers (`tree`),
streamed replies and the messages they are shown in (`streaming`, `replies`), rate-limit pacing (`ratelimits`),
restart-safe buttons (`buttons`), where a use happens (`places`), languages (`i18n`), and the start-up repair
(`repair`). The features themselves are the cogs, under `cogs/`."""
