"""The commands' words for `bot.app.i18n.FusionTranslator`: the slash commands' descriptions, option descriptions
and choice names, and the message commands' names, with their Simplified Chinese (see `bot.app.i18n_catalog` for
the bot's messages)."""

from __future__ import annotations

# Slash command and group descriptions, option descriptions and choice names (Discord allows 100 characters), and
# message command names.
COMMAND_TEXTS: dict[str, str] = {
    # /chat, /reset
    "Ask the chat model; the answer streams in here.": "向聊天模型提问，回答会在这里实时显示。",  # noqa: RUF001
    "What to ask or say": "要问或要说的话",
    "Sampling temperature, above 0 up to 2 (higher is more varied)": "采样温度，大于 0 且不超过 2（越高越多样）",  # noqa: RUF001
    "Nucleus sampling, above 0 up to 1": "核采样（top_p），大于 0 且不超过 1",  # noqa: RUF001
    "Most tokens the answer may have": "回答最多可包含的 token 数",
    "Forget this channel's conversation; the next /chat starts afresh.": "清除此频道的对话，下一次 /chat 将重新开始。",  # noqa: RUF001
    # /channel enable|disable
    "How the bot talks in this channel": "机器人在此频道中的对话方式",
    "Answer every message in this channel, without a mention.": "回复此频道中的每条消息，无需提及机器人。",  # noqa: RUF001
    "Answer only mentions and replies to the bot here.": "在此频道中只回复提及或回复机器人的消息。",
    # /draw, /draw-queue
    "Draw a picture. Requests are queued fairly across the server.": "画一张图片。请求会在整个服务器中公平排队。",
    "What to draw": "要画的内容",
    "Drawing model (default set by the bot's administrator)": "绘图模型（默认值由机器人管理员设置）",  # noqa: RUF001
    "Width x height in pixels": "宽 x 高（像素）",  # noqa: RUF001
    "0 to 9999999 to repeat a picture; -1 for a random one": "填 0 到 9999999 可重现某张图片；填 -1 则随机",  # noqa: RUF001
    "Prompt guidance from 1 to 20: higher follows the prompt more closely": "提示词引导系数，1 到 20：越高越贴近提示词",  # noqa: RUF001
    "ControlNet model (none by default)": "ControlNet 模型（默认不使用）",  # noqa: RUF001
    "See this server's picture requests and cancel any of them.": "查看此服务器的图片请求，并可取消其中任意一个。",  # noqa: RUF001
    # /draw controlnet choices: the model's name, with what it follows
    "none": "无",
    "openpose": "openpose（人体姿态）",  # noqa: RUF001
    "canny": "canny（边缘检测）",  # noqa: RUF001
    "depth": "depth（深度图）",  # noqa: RUF001
    "fake_scribble": "fake_scribble（伪涂鸦）",  # noqa: RUF001
    "scribble": "scribble（涂鸦）",  # noqa: RUF001
    "hed": "hed（软边缘）",  # noqa: RUF001
    "hough": "hough（直线检测）",  # noqa: RUF001
    "normal": "normal（法线图）",  # noqa: RUF001
    "seg": "seg（语义分割）",  # noqa: RUF001
    # /config
    "This server's controls for the bot": "此服务器上机器人的管理设置",
    "Show this server's controls.": "显示此服务器的管理设置。",
    "Allow the bot in a channel, or take it off the list.": "允许机器人在某个频道中使用，或将其移出列表。",  # noqa: RUF001
    "The channel (its threads follow it)": "频道（其子区随之生效）",  # noqa: RUF001
    "On the list of channels the bot works in": "是否列入机器人可用的频道列表",
    "Allow a role to use the bot, or take it off the list.": "允许某个身份组使用机器人，或将其移出列表。",  # noqa: RUF001
    "The role": "身份组",
    "On the list of roles that may use the bot": "是否列入可使用机器人的身份组列表",
    "Empty a list: the bot works in every channel, or for everyone.": (
        "清空一个列表：机器人将在所有频道中可用，或对所有人可用。"  # noqa: RUF001
    ),
    "The list to empty": "要清空的列表",
    "channels": "频道",
    "roles": "身份组",
    "Set this server's defaults for /chat and /draw.": "设置此服务器上 /chat 和 /draw 的默认值。",
    "Drawing model for /draw": "/draw 使用的绘图模型",
    "Picture size for /draw": "/draw 的图片尺寸",
    "Sampling temperature for answers, above 0 up to 2": "回答的采样温度，大于 0 且不超过 2",  # noqa: RUF001
    "Forget this server's defaults first": "先清除此服务器的默认值",
    "Least time between a member's questions (0: none).": "成员两次提问之间的最短间隔（0 表示不限制）。",  # noqa: RUF001
    "Seconds, 0 to 86400": "秒数，0 到 86400",  # noqa: RUF001
    # /config persona, /channel persona
    "Set or clear this server's persona: instructions for the model.": "设置或清除此服务器的人设：给模型的指示。",  # noqa: RUF001
    "Instructions for the model: tone, language, role (up to 1,500 characters)": (
        "给模型的指示：语气、语言、角色（最多 1,500 个字符）"  # noqa: RUF001
    ),
    "Remove this server's persona": "移除此服务器的人设",
    "Set or clear this channel's persona: instructions for the model.": "设置或清除此频道的人设：给模型的指示。",  # noqa: RUF001
    "Remove this channel's persona": "移除此频道的人设",
    "Set this server's daily chat quotas, within the bot's.": "设置此服务器的每日聊天额度，不超过机器人的限制。",  # noqa: RUF001
    "Chat tokens one member may spend a day here (0: only the bot's limit)": (
        "每位成员每天在这里可用的聊天 token 数（0 表示只按机器人的限制）"  # noqa: RUF001
    ),
    "Chat tokens the whole server may spend a day (0: only the bot's limit)": (
        "整个服务器每天可用的聊天 token 数（0 表示只按机器人的限制）"  # noqa: RUF001
    ),
    "This server's chat tokens and pictures, and its top members.": "此服务器的聊天 token 与图片用量，以及用量最多的成员。",  # noqa: E501, RUF001
    # /usage
    "Your chat tokens and pictures today and over the last 30 days (only you see it).": (
        "你今天和最近 30 天的聊天 token 与图片用量（仅你可见）。"  # noqa: RUF001
    ),
    # message commands' names (Discord allows 32 characters)
    "Ask Fusionbot": "问问 Fusionbot",
    "Draw this": "据此画图",
}
