"""The bot's core, with no Discord in it: the fusion API client, the store, the picture downloader, splitting
answers, server access rules, and the chat and picture services. The console and the Discord layer (`bot.app`)
both build on it; a test keeps `discord` out of every module here."""
