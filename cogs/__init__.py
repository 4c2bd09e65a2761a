"""Discord features, one extension each; the bot loads them by name."""
