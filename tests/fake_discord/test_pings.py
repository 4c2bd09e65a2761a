"""Who a message pings, worked out as Discord does: raw REST calls and the unmodified discord.py client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest

from tests.fake_discord import FakeDiscord, Pings, running_client
from tests.fake_discord.checks import Outcome, assert_clean, make_bot
from tests.fake_discord.state import DEFAULT_BOT_PERMISSIONS, MENTION_EVERYONE

MAY_MENTION_EVERYONE = DEFAULT_BOT_PERMISSIONS | MENTION_EVERYONE


class Rest:
    """The bot's REST calls to the fake, made by hand."""

    def __init__(self, fake: FakeDiscord, http: aiohttp.ClientSession) -> None:
        self.fake = fake
        self.http = http
        self.headers = {"Authorization": f"Bot {fake.token}"}

    async def send(self, payload: dict[str, Any], *, channel_id: int | None = None) -> dict[str, Any]:
        url = f"{self.fake.api_base}/channels/{channel_id or self.fake.channel_id}/messages"
        async with self.http.post(url, json=payload, headers=self.headers) as response:
            assert response.status == 200, await response.text()
            return dict(await response.json())

    async def edit(self, message_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.fake.api_base}/channels/{self.fake.channel_id}/messages/{message_id}"
        async with self.http.patch(url, json=payload, headers=self.headers) as response:
            assert response.status == 200, await response.text()
            return dict(await response.json())

    async def refused(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        url = f"{self.fake.api_base}/channels/{self.fake.channel_id}/messages"
        async with self.http.post(url, json=payload, headers=self.headers) as response:
            return response.status, dict(await response.json())

    async def pinged(self, payload: dict[str, Any], *, channel_id: int | None = None) -> Pings:
        """Send ``payload`` and say whom the message pinged, checking its JSON says the same."""
        sent = await self.send(payload, channel_id=channel_id)
        message = self.fake.message(int(sent["id"]))
        assert [int(u["id"]) for u in sent["mentions"]] == list(message.pings.users)
        assert [int(r) for r in sent["mention_roles"]] == list(message.pings.roles)
        assert sent["mention_everyone"] == message.pings.everyone
        return message.pinged


@pytest.fixture
async def mighty() -> AsyncIterator[FakeDiscord]:
    """A fake Discord where the bot's role has Mention Everyone."""
    async with FakeDiscord(bot_permissions=MAY_MENTION_EVERYONE) as server:
        yield server
        assert server.stats.internal_errors == []


@pytest.fixture
async def rest(mighty: FakeDiscord) -> AsyncIterator[Rest]:
    async with aiohttp.ClientSession() as http:
        yield Rest(mighty, http)


def everything(fake: FakeDiscord, role_id: int, user_id: int) -> str:
    return f"@everyone @here <@&{role_id}> <@{user_id}> <@!{fake.user_id}>"


async def test_without_allowed_mentions_every_mention_in_the_content_pings(mighty: FakeDiscord, rest: Rest) -> None:
    role = mighty.add_role("crew")
    ana = mighty.add_member("ana")
    pinged = await rest.pinged({"content": everything(mighty, role, ana), "embeds": [{"description": f"<@{ana}>"}]})
    assert pinged == Pings(users=(ana, mighty.user_id), roles=(role,), everyone=True)
    assert await rest.pinged({"content": f"just @here and <@{ana}>"}) == Pings(users=(ana,), everyone=True)
    assert not await rest.pinged({"content": "nobody", "embeds": [{"description": "@everyone"}]})


async def test_everyone_and_roles_need_mention_everyone_unless_the_role_is_mentionable(fake: FakeDiscord) -> None:
    locked = fake.add_role("locked")
    open_role = fake.add_role("open", mentionable=True)
    async with aiohttp.ClientSession() as http:
        pinged = await Rest(fake, http).pinged({"content": f"@everyone @here <@&{locked}> <@&{open_role}>"})
    assert pinged == Pings(roles=(open_role,))


async def test_everyone_in_a_dm_pings_nobody(mighty: FakeDiscord, rest: Rest) -> None:
    dm = mighty.open_dm(mighty.user_id)
    assert await rest.pinged({"content": "@everyone"}, channel_id=dm) == Pings()


@pytest.mark.parametrize(
    ("allowed", "users", "roles", "everyone"),
    [
        ({"parse": []}, [], [], False),
        ({"parse": ["users"]}, ["ana", "tester"], [], False),
        ({"parse": ["roles"]}, [], ["crew"], False),
        ({"parse": ["everyone"]}, [], [], True),
        ({"users": ["ana"]}, ["ana"], [], False),
        ({"roles": ["crew"], "parse": ["everyone"]}, [], ["crew"], True),
        ({"users": ["ana"], "roles": ["other"]}, ["ana"], [], False),  # "other" is allowed but not in the content
    ],
)
async def test_allowed_mentions_narrow_what_pings(
    mighty: FakeDiscord, rest: Rest, allowed: dict[str, list[str]], users: list[str], roles: list[str], everyone: bool
) -> None:
    ids = {"crew": mighty.add_role("crew"), "other": mighty.add_role("other"), "ana": mighty.add_member("ana")}
    ids["tester"] = mighty.user_id
    by_id = {key: [str(ids[v]) if v in ids else v for v in values] for key, values in allowed.items()}
    pinged = await rest.pinged({"content": everything(mighty, ids["crew"], ids["ana"]), "allowed_mentions": by_id})
    assert pinged == Pings(tuple(ids[name] for name in users), tuple(ids[name] for name in roles), everyone)


@pytest.mark.parametrize(
    ("allowed", "pings_author"),
    [
        (None, True),
        ({"parse": [], "replied_user": True}, True),
        ({"parse": []}, False),
        ({"replied_user": False}, False),
    ],
)
async def test_a_reply_pings_the_author_it_replies_to_by_default_or_with_replied_user(
    mighty: FakeDiscord, rest: Rest, allowed: dict[str, Any] | None, pings_author: bool
) -> None:
    question = await mighty.send_user_message(mighty.channel_id, mighty.user_id, "a question")
    payload: dict[str, Any] = {"content": "an answer", "message_reference": {"message_id": str(question.id)}}
    if allowed is not None:
        payload["allowed_mentions"] = allowed
    pinged = await rest.pinged(payload)
    assert pinged == (Pings(users=(mighty.user_id,)) if pings_author else Pings())


async def test_an_edit_works_the_mentions_out_again_from_its_own_content_and_allowed_mentions(
    mighty: FakeDiscord, rest: Rest
) -> None:
    ana = mighty.add_member("ana")
    sent = await rest.send({"content": "hello", "allowed_mentions": {"parse": []}})
    message_id = int(sent["id"])
    first = await rest.edit(message_id, {"content": f"hello <@{ana}> @everyone"})  # no allowed_mentions: defaults
    await rest.edit(message_id, {"components": []})  # no content: the mentions stay
    last = await rest.edit(message_id, {"content": f"hello <@{ana}>", "allowed_mentions": {"parse": []}})
    message = mighty.message(message_id)
    assert [version.pinged for version in message.versions] == [
        Pings(),
        Pings(users=(ana,), everyone=True),
        Pings(users=(ana,), everyone=True),
        Pings(),
    ]
    assert message.pinged == Pings(users=(ana,), everyone=True)  # whoever any version pinged
    assert (first["mention_everyone"], [u["id"] for u in first["mentions"]]) == (True, [str(ana)])
    assert (last["mention_everyone"], last["mentions"]) == (False, [])


async def test_an_edit_of_a_reply_pings_its_author_unless_allowed_mentions_says_not(
    mighty: FakeDiscord, rest: Rest
) -> None:
    question = await mighty.send_user_message(mighty.channel_id, mighty.user_id, "a question")
    reference = {"message_id": str(question.id)}
    sent = await rest.send({"content": "…", "message_reference": reference, "allowed_mentions": {"parse": []}})
    message_id = int(sent["id"])
    await rest.edit(message_id, {"content": "an answer", "allowed_mentions": {"parse": [], "replied_user": False}})
    await rest.edit(message_id, {"content": "an answer, edited"})
    assert [version.pinged for version in mighty.message(message_id).versions] == [
        Pings(),
        Pings(),
        Pings(users=(mighty.user_id,)),
    ]


async def test_parse_and_a_list_of_the_same_kind_are_refused(mighty: FakeDiscord, rest: Rest) -> None:
    status, body = await rest.refused({"content": "hi", "allowed_mentions": {"parse": ["users"], "users": ["1"]}})
    assert (status, body["code"]) == (400, 50035)
    assert body["errors"]["allowed_mentions"]["_errors"][0]["code"] == "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE"
    status, body = await rest.refused({"content": "hi", "allowed_mentions": {"parse": ["channels"]}})
    assert (status, body["code"]) == (400, 50035)
    assert "parse" in body["errors"]["allowed_mentions"]
    assert mighty.messages_in() == []


async def test_user_messages_ping_as_their_author_may_and_a_reply_to_the_bot_pings_it(fake: FakeDiscord) -> None:
    crew = fake.add_role("crew")
    async with aiohttp.ClientSession() as http:
        answer = await Rest(fake, http).send({"content": "an answer"})
    shout = await fake.send_user_message(fake.channel_id, fake.user_id, f"@everyone <@&{crew}>")
    reply = await fake.send_user_message(fake.channel_id, fake.user_id, "thanks", reply_to=int(answer["id"]))
    assert shout.pinged == Pings()  # tester has no Mention Everyone and the role is not mentionable
    assert reply.pinged == Pings(users=(fake.bot_user_id,))


async def test_discord_py_mention_author_false_alone_still_lets_everyone_ping(mighty: FakeDiscord) -> None:
    crew = mighty.add_role("crew")
    bot = make_bot()
    async with running_client(mighty, bot):
        question = await mighty.send_user_message(mighty.channel_id, mighty.user_id, "a question")
        channel = bot.get_channel(mighty.channel_id)
        assert isinstance(channel, discord.TextChannel)
        target = channel.get_partial_message(question.id)
        loose = await target.reply(f"@everyone <@&{crew}>", mention_author=False)
        pings_author = await target.reply("only you", mention_author=True)
    assert mighty.message(loose.id).pinged == Pings(roles=(crew,), everyone=True)
    assert mighty.message(pings_author.id).pinged == Pings(users=(mighty.user_id,))
    assert_clean(mighty)


async def test_a_client_wide_policy_of_none_pings_nobody_but_the_author_when_asked(mighty: FakeDiscord) -> None:
    crew = mighty.add_role("crew", mentionable=True)
    bot = make_bot()
    bot.allowed_mentions = discord.AllowedMentions.none()
    async with running_client(mighty, bot):
        question = await mighty.send_user_message(mighty.channel_id, mighty.user_id, "a question")
        channel = bot.get_channel(mighty.channel_id)
        assert isinstance(channel, discord.TextChannel)
        target = channel.get_partial_message(question.id)
        quiet = await target.reply(f"@everyone <@&{crew}> <@{mighty.user_id}>")
        await quiet.edit(content=f"@here <@&{crew}>")
        asked = await target.reply(f"@everyone <@&{crew}>", mention_author=True)
    assert mighty.message(quiet.id).pinged == Pings()
    assert mighty.message(asked.id).pinged == Pings(users=(mighty.user_id,))
    assert_clean(mighty)


async def test_interaction_responses_ping_by_the_interactions_app_permissions(fake: FakeDiscord) -> None:
    crew = fake.add_role("crew")
    bot = make_bot()
    answered = Outcome()

    @bot.tree.command(description="Shout")
    async def shout(interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"@everyone <@&{crew}>")
        followup = await interaction.followup.send(f"@here <@&{crew}>", wait=True)
        answered.set((interaction.app_permissions.mention_everyone, followup.id))

    async with running_client(fake, bot):
        weak = await fake.slash_command("shout")
        weak_permission, weak_followup = await answered.get()
        fake.state.roles[fake.guild().bot_role_id].permissions |= MENTION_EVERYONE
        answered = Outcome()
        strong = await fake.slash_command("shout")
        strong_permission, strong_followup = await answered.get()
        weak_reply, strong_reply = await weak.original_message(), await strong.original_message()
    assert (weak_permission, strong_permission) == (False, True)
    assert weak_reply.pinged == fake.message(weak_followup).pinged == Pings()
    assert strong_reply.pinged == fake.message(strong_followup).pinged == Pings(roles=(crew,), everyone=True)
    assert_clean(fake)
