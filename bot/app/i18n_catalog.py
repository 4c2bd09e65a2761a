"""The words of `bot.app.i18n`: every fixed English text the bot shows, with its Simplified Chinese.

`MESSAGES` are templates the code builds messages from; `{name}` stands for a variable part, and names carry
meaning (see `bot.app.i18n`): `reason` is itself a message, `wait` a duration, `phase`, `option`, `permissions` and
`defaults` are or hold `TERMS`. `LABELS` are short texts of buttons, menus and embeds, matched only as a whole.
The commands' own words, for `FusionTranslator`, are in `bot.app.i18n_commands`. Keep `{placeholders}` the same
in both languages, and emoji prefixes (added by the code) out of the templates.
"""

from __future__ import annotations

MESSAGES: tuple[tuple[str, str], ...] = (
    # bot/core/chat.py
    ("The bot is restarting. Please ask again in a minute.", "机器人正在重启，请一分钟后再提问。"),  # noqa: RUF001
    ("*(The answer reached its length limit.)*", "*（回答已达到长度上限。）*"),  # noqa: RUF001
    ("The picture could not be downloaded: downloads are not set up.", "图片无法下载：下载功能未配置。"),  # noqa: RUF001
    (
        "Interrupted: the bot was restarting. Press Regenerate to try again.",
        "已中断：机器人正在重启。请点击“重新生成”再试一次。",  # noqa: RUF001
    ),
    ("Stopped.", "已停止。"),
    # bot/discord_bot.py, and discord.py's own check failures
    (
        "Something went wrong while handling this command. It has been logged.",
        "处理此命令时出错了，错误已记录到日志。",  # noqa: RUF001
    ),
    ("You cannot use this command here.", "你不能在这里使用此命令。"),
    ("This command cannot be used in direct messages.", "此命令不能在私信中使用。"),
    ("Failed to convert {value} to {kind}", "无法将 {value} 转换为 {kind}"),
    ("You are missing {permissions} permission(s) to run this command.", "你缺少运行此命令所需的权限：{permissions}。"),  # noqa: RUF001
    (
        "Bot requires {permissions} permission(s) to run this command.",
        "机器人需要以下权限才能运行此命令：{permissions}。",  # noqa: RUF001
    ),
    # bot/core/access.py
    ("This bot does not answer direct messages. Please use it in a server.", "本机器人不回复私信，请在服务器中使用。"),  # noqa: RUF001
    (
        "The bot is not used in this channel on this server. Try: {channels}",
        "在此服务器上，机器人不在这个频道中使用。请前往：{channels}",  # noqa: RUF001
    ),
    (
        "Using the bot on this server needs one of these roles: {roles}",
        "在此服务器上使用机器人需要以下身份组之一：{roles}",  # noqa: RUF001
    ),
    ("Please wait {wait} before your next question on this server.", "请等待 {wait}后再在此服务器上提问。"),
    ("Please wait {wait} before your next question in direct messages.", "请等待 {wait}后再在私信中提问。"),
    # bot/core/downloads.py
    ("The picture could not be downloaded. Please try again.", "图片下载失败，请重试。"),  # noqa: RUF001
    ("The picture's address is not allowed, so it was not downloaded.", "图片地址不被允许，因此没有下载。"),  # noqa: RUF001
    ("The picture is larger than the upload limit of {size}.", "图片超过了 {size} 的上传上限。"),
    ("The download is not a PNG, JPEG, WebP or GIF picture.", "下载的内容不是 PNG、JPEG、WebP 或 GIF 图片。"),
    ("The picture's address redirected too many times.", "图片地址的重定向次数过多。"),
    (
        "The picture took too long to download ({seconds} s). Please try again.",
        "图片下载超时（{seconds} 秒），请重试。",  # noqa: RUF001
    ),
    (
        "The picture is no longer available (HTTP {status}). Please try again.",
        "图片已不可用（HTTP {status}），请重试。",  # noqa: RUF001
    ),
    (
        "The picture could not be downloaded (HTTP {status}). Please try again.",
        "图片下载失败（HTTP {status}），请重试。",  # noqa: RUF001
    ),
    (
        "The picture could not be downloaded: its server cannot be reached. Please try again.",
        "图片下载失败：无法连接到图片所在的服务器，请重试。",  # noqa: RUF001
    ),
    # bot/core/fusion/errors.py
    ("The chat service failed to answer. Please try again later.", "聊天服务未能作答，请稍后再试。"),  # noqa: RUF001
    (
        "The bot's API credentials were refused. An administrator needs to check its keys.",
        "机器人的 API 凭据被拒绝，需要管理员检查其密钥。",  # noqa: RUF001
    ),
    ("The service is busy. Please try again in {seconds} seconds.", "服务繁忙，请在 {seconds} 秒后重试。"),  # noqa: RUF001
    ("The service is busy. Please try again in a moment.", "服务繁忙，请稍后重试。"),  # noqa: RUF001
    (
        "The service did not accept this request. Check the options and try again.",
        "服务未接受此请求，请检查选项后重试。",  # noqa: RUF001
    ),
    (
        "The service refused this request: its content was flagged by moderation.",
        "服务拒绝了此请求：内容被审核系统标记。",  # noqa: RUF001
    ),
    (
        "The drawing model '{model}' is not supported by the service. Choose another model.",
        "服务不支持绘图模型“{model}”，请选择其他模型。",  # noqa: RUF001
    ),
    (
        "The drawing model is not supported by the service. Choose another model.",
        "服务不支持该绘图模型，请选择其他模型。",  # noqa: RUF001
    ),
    ("The answer was cut off: the connection to the service dropped.", "回答被中断：与服务的连接已断开。"),  # noqa: RUF001
    (
        "The chat service cannot be reached right now. Please try again later.",
        "目前无法连接到聊天服务，请稍后再试。",  # noqa: RUF001
    ),
    (
        "The service took too long to answer ({phase}, {seconds} s). Please try again.",
        "服务响应超时（{phase}，{seconds} 秒），请重试。",  # noqa: RUF001
    ),
    # bot/core/draw/service.py
    ("The bot is restarting. Please try again in a minute.", "机器人正在重启，请一分钟后再试。"),  # noqa: RUF001
    (
        "Interrupted: the bot was restarting. Press Retry to draw it again.",
        "已中断：机器人正在重启。请点击“重试”重新绘制。",  # noqa: RUF001
    ),
    (
        "Something went wrong while drawing. It has been logged; please try again.",
        "绘制时出错了，错误已记录到日志，请重试。",  # noqa: RUF001
    ),
    ("The service answered in words instead of drawing a picture: {said}", "服务用文字作答，而没有画图：{said}"),  # noqa: RUF001
    ("The service answered in words instead of drawing a picture.", "服务用文字作答，而没有画图。"),  # noqa: RUF001
    ("Please wait {wait} before asking for another picture.", "请等待 {wait}后再请求下一张图片。"),
    (
        "You have {quota} picture(s) on the way, your limit for 24 hours. Wait until they are done.",
        "你有 {quota} 张图片正在生成，已达到 24 小时内的上限。请等待它们完成。",  # noqa: RUF001
    ),
    (
        "You have used your {quota} picture(s) for the last 24 hours. Try again in {wait}.",
        "你已用完过去 24 小时内的 {quota} 张图片额度。请在 {wait}后再试。",
    ),
    # bot/core/draw/queue.py
    (
        "You already have a picture waiting in the queue. Wait until it starts, or cancel it.",
        "你已有一张图片在队列中等待。请等它开始绘制，或者取消它。",  # noqa: RUF001
    ),
    (
        "The picture queue is full ({count} waiting). Please try again in a few minutes.",
        "图片队列已满（{count} 个等待中），请几分钟后再试。",  # noqa: RUF001
    ),
    # bot/core/draw/options.py
    (
        "There is no model called {model} here. Choose one of: {choices}.",
        "这里没有名为 {model} 的模型。请从以下选项中选择：{choices}。",  # noqa: RUF001
    ),
    (
        "Size {size} is not offered. Choose one of: {choices} (width x height in pixels).",
        "不提供尺寸 {size}。请从以下选项中选择：{choices}（宽 x 高，单位为像素）。",  # noqa: RUF001
    ),
    (
        "Unknown ControlNet {controlnet}. Choose one of: {choices}.",
        "未知的 ControlNet {controlnet}。请从以下选项中选择：{choices}。",  # noqa: RUF001
    ),
    ("The {option} must be between {low} and {high}.", "{option}必须在 {low} 到 {high} 之间。"),
    # cogs/draw/reply.py
    ("Waiting to draw: next in line ({waiting} waiting).", "等待绘制：下一个就轮到你（{waiting} 个等待中）。"),  # noqa: RUF001
    (
        "Waiting to draw: number {place} in line ({waiting} waiting).",
        "等待绘制：排在第 {place} 位（{waiting} 个等待中）。",  # noqa: RUF001
    ),
    ("Drawing\u2026 {seconds} s", "正在绘制\u2026 {seconds} 秒"),
    ("Requested by {name}", "请求者：{name}"),  # noqa: RUF001
    # cogs/chat/chat_cog.py
    (
        "Only the person who asked, or a member with Manage Messages, can use this button.",
        "只有提问者或拥有“管理消息”权限的成员才能使用此按钮。",
    ),
    ("This answer is not being written any more.", "这条回答已不在生成中。"),
    ("This answer is no longer stored, so it cannot be regenerated.", "这条回答已不再保存，因此无法重新生成。"),  # noqa: RUF001
    ("This answer is still being written.", "这条回答仍在生成中。"),
    # bot/core/chat.py, bot/app/answers.py, bot/app/streaming.py
    ("(no answer)", "（没有回答）"),  # noqa: RUF001
    (
        "Too long for {count} messages: the whole answer will be attached as answer.md.",
        "超出 {count} 条消息的长度：完整回答将以 answer.md 附件形式提供。",  # noqa: RUF001
    ),
    (
        "Too long for {count} messages: the whole answer is attached as answer.md.",
        "超出 {count} 条消息的长度：完整回答已作为 answer.md 附上。",  # noqa: RUF001
    ),
    # cogs/chat/ask_cog.py
    (
        "This message has no text, embeds or attachments to ask about.",
        "这条消息没有可以提问的文字、嵌入内容或附件。",
    ),
    (
        "I cannot answer in this channel: I need to see it, send messages and read its history here.",
        "我无法在这个频道中作答：我需要在这里查看频道、发送消息和读取消息历史的权限。",  # noqa: RUF001
    ),
    ("Answering in the channel, as a reply to that message.", "正在频道中作答，回复那条消息。"),  # noqa: RUF001
    (
        "The message is long: only its first {count} characters were quoted.",
        "这条消息很长：只引用了它的前 {count} 个字符。",  # noqa: RUF001
    ),
    # cogs/draw/draw_this.py
    ("This message has no text to draw.", "这条消息没有可以用来画图的文字。"),
    (
        "This message's text has {length} characters, and a picture's prompt at most {limit}. "
        "Use /draw with a shorter prompt.",
        "这条消息的文字有 {length} 个字符，而图片的提示词最多 {limit} 个字符。请用 /draw 输入更短的提示词。",  # noqa: RUF001
    ),
    # cogs/chat/conversations.py
    ("Too many messages are waiting for an answer in this channel.", "这个频道里等待回答的消息太多了。"),
    ("Please send yours again in a moment.", "请稍后再发送你的消息。"),
    # bot/app/buttons.py
    ("This button does not belong to this channel.", "此按钮不属于这个频道。"),
    (
        "In a server, only members with Manage Messages can reset the conversation.",
        "在服务器中，只有拥有“管理消息”权限的成员才能重置对话。",  # noqa: RUF001
    ),
    ("Conversation cleared: the next /chat starts afresh.", "对话已清除：下一次 /chat 将重新开始。"),  # noqa: RUF001
    # cogs/chat/conversations_cog.py
    (
        "Channel conversations are off: {reason}. Slash commands work as usual. See the README's Discord setup.",
        "频道对话已关闭：{reason}。斜杠命令照常可用。请参阅 README 中的 Discord 设置说明。",  # noqa: RUF001
    ),
    ("the bot is not allowed to read messages (see its log)", "机器人无权读取消息（请查看其日志）"),  # noqa: RUF001
    ("CONVERSATIONS_ENABLED is false", "CONVERSATIONS_ENABLED 设置为 false"),
    (
        "I will answer every message in this channel. `/channel disable` stops that.",
        "我会回复此频道中的每条消息。使用 `/channel disable` 可以停止。",
    ),
    ("I will answer here only when mentioned or replied to.", "在这里，我只在被提及或被回复时作答。"),  # noqa: RUF001
    # cogs/draw/draw_cog.py
    (
        "Only the person who asked, or a member with Manage Server, can cancel this picture.",
        "只有提出请求的人或拥有“管理服务器”权限的成员才能取消这张图片。",
    ),
    (
        "This picture request is no longer stored, so it cannot be repeated.",
        "这个图片请求已不再保存，因此无法重新绘制。",  # noqa: RUF001
    ),
    (
        "This picture request is no longer stored, so it cannot be cancelled.",
        "这个图片请求已不再保存，因此无法取消。",  # noqa: RUF001
    ),
    ("This picture is not waiting or being drawn any more.", "这张图片已不在等待或绘制中。"),
    ("Cancelled by {name}.", "已被 {name} 取消。"),
    ("Cancelled by {name} (server manager).", "已被 {name}（服务器管理员）取消。"),  # noqa: RUF001
    ("No pictures are waiting or being drawn in this server.", "此服务器中没有正在等待或绘制的图片。"),
    ("**Drawing** ({count}):", "**绘制中**（{count}）："),  # noqa: RUF001
    ("**Waiting** ({count}):", "**等待中**（{count}）："),  # noqa: RUF001
    (
        "-# {total} waiting in all servers; at most {limit} drawn at once.",
        "-# 所有服务器共有 {total} 个在等待；最多同时绘制 {limit} 个。",  # noqa: RUF001
    ),
    # cogs/config/config_cog.py
    ("**Channels:** all", "**频道：** 全部"),  # noqa: RUF001
    ("**Channels:** {channels}", "**频道：** {channels}"),  # noqa: RUF001
    ("**Roles:** everyone", "**身份组：** 所有人"),  # noqa: RUF001
    ("**Roles:** {roles}", "**身份组：** {roles}"),  # noqa: RUF001
    ("**Defaults:** the bot's own", "**默认值：** 使用机器人自身的默认值"),  # noqa: RUF001
    ("**Defaults:** {defaults}", "**默认值：** {defaults}"),  # noqa: RUF001
    ("**Chat cooldown per member:** none", "**每位成员的聊天冷却时间：** 无"),  # noqa: RUF001
    ("**Chat cooldown per member:** {wait}", "**每位成员的聊天冷却时间：** {wait}"),  # noqa: RUF001
    ("**Direct messages:** served (a setting of the bot)", "**私信：** 会回复（机器人的设置）"),  # noqa: RUF001
    ("**Direct messages:** not served (a setting of the bot)", "**私信：** 不回复（机器人的设置）"),  # noqa: RUF001
    (
        "-# Members with Manage Server may always use the bot, within the daily chat quotas.",
        "-# 拥有“管理服务器”权限的成员始终可以使用机器人，但同样受每日聊天额度限制。",  # noqa: RUF001
    ),
    ("{mention} added to the channels.", "{mention} 已加入频道列表。"),
    ("{mention} removed from the channels.", "{mention} 已从频道列表中移除。"),
    ("{mention} added to the roles.", "{mention} 已加入身份组列表。"),
    ("{mention} removed from the roles.", "{mention} 已从身份组列表中移除。"),
    ("The channels list is empty: no restriction.", "频道列表已清空：不做限制。"),  # noqa: RUF001
    ("The roles list is empty: no restriction.", "身份组列表已清空：不做限制。"),  # noqa: RUF001
    ("Defaults updated.", "默认值已更新。"),
    ("Chat cooldown updated.", "聊天冷却时间已更新。"),
    # bot/core/personas.py, bot/app/personas.py, /config persona, /channel persona
    (
        "A persona needs some text. To remove one, use clear:True.",
        "人设需要填写内容。如需移除人设，请使用 clear:True。",  # noqa: RUF001
    ),
    (
        "A persona can have at most 1,500 characters; this one has {count}.",
        "人设最多只能有 1,500 个字符，而这个有 {count} 个。",  # noqa: RUF001
    ),
    ("Give a persona's text or clear:True, not both.", "请填写人设内容或使用 clear:True，二者不能同时使用。"),  # noqa: RUF001
    (
        "Server persona set: it is sent with every question on this server, unless a channel has its own.",
        "服务器人设已设置：此服务器上的每个提问都会附带它，除非频道有自己的人设。",  # noqa: RUF001
    ),
    ("Server persona removed.", "服务器人设已移除。"),
    (
        "This channel's persona is set: it is sent with every question here, in place of the server's.",
        "此频道的人设已设置：这里的每个提问都会附带它，取代服务器的人设。",  # noqa: RUF001
    ),
    ("This channel's persona is removed.", "此频道的人设已移除。"),
    ("No persona applies here.", "这里没有适用的人设。"),
    ("**Server persona:** none", "**服务器人设：** 无"),  # noqa: RUF001
    ("**Server persona:** shown below", "**服务器人设：** 见下方"),  # noqa: RUF001
    ("**Server persona:** none; the bot's default is shown below", "**服务器人设：** 无；机器人的默认人设见下方"),  # noqa: RUF001
    ("**Channels with their own persona:** none", "**有自己人设的频道：** 无"),  # noqa: RUF001
    ("**Channels with their own persona:** {channels}", "**有自己人设的频道：** {channels}"),  # noqa: RUF001
    ("Chat quota updated.", "聊天额度已更新。"),
    (
        "The bot allows at most {tokens} tokens a day per member: that limit holds.",
        "机器人每天最多允许每位成员使用 {tokens} 个 token：以此为准。",  # noqa: RUF001
    ),
    (
        "The bot allows at most {tokens} tokens a day per server: that limit holds.",
        "机器人每天最多允许每个服务器使用 {tokens} 个 token：以此为准。",  # noqa: RUF001
    ),
    ("**Daily chat quota per member:** none", "**每位成员的每日聊天额度：** 无"),  # noqa: RUF001
    (
        "**Daily chat quota per member:** {tokens} tokens (this server's limit)",
        "**每位成员的每日聊天额度：** {tokens} 个 token（此服务器的限制）",  # noqa: RUF001
    ),
    (
        "**Daily chat quota per member:** {tokens} tokens (the bot's limit)",
        "**每位成员的每日聊天额度：** {tokens} 个 token（机器人的限制）",  # noqa: RUF001
    ),
    ("**Daily chat quota for the server:** none", "**整个服务器的每日聊天额度：** 无"),  # noqa: RUF001
    (
        "**Daily chat quota for the server:** {tokens} tokens (this server's limit)",
        "**整个服务器的每日聊天额度：** {tokens} 个 token（此服务器的限制）",  # noqa: RUF001
    ),
    (
        "**Daily chat quota for the server:** {tokens} tokens (the bot's limit)",
        "**整个服务器的每日聊天额度：** {tokens} 个 token（机器人的限制）",  # noqa: RUF001
    ),
    # bot/core/usage.py, bot/app/usage_report.py
    (
        "This server's daily chat quota ({tokens} tokens) is used up.",
        "此服务器今天的聊天额度（{tokens} 个 token）已用完。",  # noqa: RUF001
    ),
    (
        "Your daily chat quota on this server ({tokens} tokens) is used up.",
        "你在此服务器上今天的聊天额度（{tokens} 个 token）已用完。",  # noqa: RUF001
    ),
    (
        "Your daily chat quota in direct messages ({tokens} tokens) is used up.",
        "你在私信中今天的聊天额度（{tokens} 个 token）已用完。",  # noqa: RUF001
    ),
    ("It renews in {wait}, at midnight UTC.", "额度将在 {wait}后（UTC 午夜）恢复。"),  # noqa: RUF001
    ("**Your usage on this server**", "**你在此服务器上的用量**"),
    ("**Your usage in direct messages**", "**你在私信中的用量**"),
    ("**This server's usage**", "**此服务器的用量**"),
    ("Chat: {today} tokens today, {month} in the last 30 days", "聊天：今天 {today} 个 token，最近 30 天 {month} 个"),  # noqa: RUF001
    ("Pictures: {today} today, {month} in the last 30 days", "图片：今天 {today} 张，最近 30 天 {month} 张"),  # noqa: RUF001
    ("Your daily chat quota: {used} of {limit} tokens used", "你的每日聊天额度：已用 {used} / {limit} 个 token"),  # noqa: RUF001
    (
        "This server's daily chat quota: {used} of {limit} tokens used",
        "此服务器的每日聊天额度：已用 {used} / {limit} 个 token",  # noqa: RUF001
    ),
    ("Daily chat quota per member: {limit} tokens", "每位成员的每日聊天额度：{limit} 个 token"),  # noqa: RUF001
    ("**Top members, last 30 days:**", "**最近 30 天用量最多的成员：**"),  # noqa: RUF001
    ("{rank}. {member}: {tokens} tokens ({today} today)", "{rank}. {member}：{tokens} 个 token（今天 {today} 个）"),  # noqa: RUF001
    ("No member has chatted here in the last 30 days.", "最近 30 天内没有成员在这里聊天。"),
    ("-# Days are UTC days: the next begins in {wait}.", "-# 按 UTC 日计算：下一天将在 {wait}后开始。"),  # noqa: RUF001
)

# Short texts matched only when they are the whole text: buttons, the queue menu, embed field names, thread names.
LABELS: dict[str, str] = {
    "Stop": "停止",
    "Regenerate": "重新生成",
    "Cancel": "取消",
    "Re-roll": "重新随机",
    "Variations": "变体",
    "Retry": "重试",
    "(nothing to cancel)": "（没有可取消的请求）",  # noqa: RUF001
    "Cancel a picture request\u2026": "取消一个图片请求\u2026",
    "Model": "模型",
    "Size": "尺寸",
    "Seed": "种子",
    "Scale": "引导系数",
    "ControlNet": "ControlNet",
    "Conversation": "对话",
    "This channel's persona": "此频道的人设",
    "Its parent channel's persona": "所属频道的人设",
    "This server's persona": "此服务器的人设",
    "The bot's default persona": "机器人的默认人设",
    "Ask Fusionbot": "问问 Fusionbot",
    "What to do with it (optional)": "要怎么处理它（可选）",  # noqa: RUF001
    "For example: summarise, or translate to English": "例如：总结一下，或翻译成英文",  # noqa: RUF001
}

# Values of the `phase`, `option`, `permissions` and `defaults` placeholders: fusion timeout phases, draw options,
# the permission names discord.py puts in its check failures, and the names of a server's defaults.
TERMS: dict[str, str] = {
    "connect": "连接",
    "first byte": "等待首字节",
    "silence in the stream": "输出停滞",
    "total": "总时长",
    "seed": "种子",
    "scale": "引导系数",
    "Manage Messages": "管理消息",
    "Manage Channels": "管理频道",
    "Manage Server": "管理服务器",
    "Manage Roles": "管理身份组",
    "Administrator": "管理员",
    "model": "模型",
    "size": "尺寸",
    "temperature": "温度",
}
