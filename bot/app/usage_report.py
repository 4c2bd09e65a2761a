"""Chat usage as Discord shows it, in English (translated where it is sent): a member's own usage (`/usage`), a
server's with its top members (`/config usage`), and the daily chat quotas that hold (`/config show`).

Members are named by mention (`<@id>`), which shows their name and, as the bot pings no one, notifies nobody.
"""

from __future__ import annotations

from bot.core.durations import describe_wait
from bot.core.usage import Limit, Limits, UsageReport


def describe_member_usage(report: UsageReport, *, in_server: bool) -> str:
    """`/usage`: the member's chat tokens and pictures here, and the quotas that hold for them."""
    totals, limits = report.totals, report.limits
    lines = [
        "**Your usage on this server**" if in_server else "**Your usage in direct messages**",
        *_tokens_and_pictures(report),
    ]
    if limits.per_member.tokens:
        lines.append(f"Your daily chat quota: {totals.tokens_today:,} of {limits.per_member.tokens:,} tokens used")
    if limits.per_server.tokens:
        lines.append(_server_quota_used(report))
    lines.append(_days(report))
    return "\n".join(lines)


def describe_server_usage(report: UsageReport) -> str:
    """`/config usage`: the server's chat tokens and pictures, its quotas, and the members who spent the most."""
    limits = report.limits
    lines = ["**This server's usage**", *_tokens_and_pictures(report)]
    if limits.per_server.tokens:
        lines.append(_server_quota_used(report))
    if limits.per_member.tokens:
        lines.append(f"Daily chat quota per member: {limits.per_member.tokens:,} tokens")
    lines.append("**Top members, last 30 days:**")
    lines += [
        f"{rank}. <@{member.user_id}>: {member.tokens:,} tokens ({member.tokens_today:,} today)"
        for rank, member in enumerate(report.top, start=1)
    ] or ["No member has chatted here in the last 30 days."]
    lines.append(_days(report))
    return "\n".join(lines)


def describe_quotas(limits: Limits) -> list[str]:
    """`/config show`'s lines for the daily chat quotas that hold in the server."""
    return [
        f"**Daily chat quota per member:** {_limit(limits.per_member)}",
        f"**Daily chat quota for the server:** {_limit(limits.per_server)}",
    ]


def _limit(limit: Limit) -> str:
    if not limit.tokens:
        return "none"
    whose = "this server's limit" if limit.servers_own else "the bot's limit"
    return f"{limit.tokens:,} tokens ({whose})"


def _tokens_and_pictures(report: UsageReport) -> list[str]:
    totals = report.totals
    return [
        f"Chat: {totals.tokens_today:,} tokens today, {totals.tokens:,} in the last 30 days",
        f"Pictures: {totals.pictures_today:,} today, {totals.pictures:,} in the last 30 days",
    ]


def _server_quota_used(report: UsageReport) -> str:
    return f"This server's daily chat quota: {report.today.server:,} of {report.limits.per_server.tokens:,} tokens used"


def _days(report: UsageReport) -> str:
    return f"-# Days are UTC days: the next begins in {describe_wait(report.renews_in)}."
