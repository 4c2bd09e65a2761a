"""Chat usage in the store, on each backend: each answer's tokens summed per member, server and time, pictures
counted beside them, a server's top members, and a server's own quotas across a restart."""

from __future__ import annotations

from bot.core.store import (
    ChatQuota,
    ChatSpending,
    ImageGeneration,
    MemberUsage,
    SpentTokens,
    StoreBackend,
    UsageTotals,
)
from tests.store.conftest import BackendDatabase

SERVER, OTHER_SERVER = 5, 6
ANA, BO, CY = 7, 8, 9


async def spend(store: StoreBackend, user_id: int, guild_id: int | None, tokens: int, at: float) -> None:
    await store.record_chat_tokens(SpentTokens(user_id, guild_id, tokens, answer_id=1, at=at))


async def draw(store: StoreBackend, user_id: int, guild_id: int | None, at: float, status: str = "done") -> None:
    picture = ImageGeneration(
        channel_id=1,
        user_id=user_id,
        prompt="p",
        model="m",
        size="640x640",
        seed=1,
        scale=7,
        guild_id=guild_id,
        created_at=at,
    )
    picture_id = await store.add_generation(picture)
    if status != "queued":
        await store.finish_generation(picture_id, status)  # type: ignore[arg-type]


async def test_what_chat_spent_is_summed_per_member_and_server_since_a_moment(store: StoreBackend) -> None:
    await spend(store, ANA, SERVER, 100, at=1000.0)
    await spend(store, ANA, SERVER, 30, at=2000.0)
    await spend(store, BO, SERVER, 5, at=2000.0)
    await spend(store, ANA, OTHER_SERVER, 1000, at=2000.0)
    await spend(store, ANA, None, 7, at=2000.0)  # a direct message
    await store.record_chat_tokens(SpentTokens(BO, None, 2, estimated=True, at=3000.0))

    assert await store.chat_spending(ANA, SERVER, since=0.0) == ChatSpending(member=130, server=135)
    assert await store.chat_spending(ANA, SERVER, since=1500.0) == ChatSpending(member=30, server=35)
    assert await store.chat_spending(CY, SERVER, since=0.0) == ChatSpending(member=0, server=135)
    assert await store.chat_spending(ANA, None, since=0.0) == ChatSpending(member=7, server=9)
    assert await store.chat_spending(ANA, 99, since=0.0) == ChatSpending()


async def test_totals_count_tokens_and_delivered_pictures_today_and_over_the_window(store: StoreBackend) -> None:
    await spend(store, ANA, SERVER, 100, at=500.0)  # before the window
    await spend(store, ANA, SERVER, 40, at=1500.0)
    await spend(store, ANA, SERVER, 2, at=2500.0)  # today
    await spend(store, BO, SERVER, 10, at=2600.0)
    await spend(store, ANA, None, 1000, at=2600.0)
    for at, status in ((500.0, "done"), (1500.0, "done"), (2500.0, "done"), (2600.0, "failed"), (2700.0, "queued")):
        await draw(store, ANA, SERVER, at, status)
    await draw(store, BO, SERVER, 2800.0)
    await draw(store, ANA, None, 2800.0)

    ana = await store.usage_totals(SERVER, since=1000.0, today=2000.0, user_id=ANA)
    server = await store.usage_totals(SERVER, since=1000.0, today=2000.0)
    in_dms = await store.usage_totals(None, since=1000.0, today=2000.0, user_id=ANA)

    assert ana == UsageTotals(tokens_today=2, tokens=42, pictures_today=1, pictures=2)
    assert server == UsageTotals(tokens_today=12, tokens=52, pictures_today=2, pictures=3)
    assert in_dms == UsageTotals(tokens_today=1000, tokens=1000, pictures_today=1, pictures=1)
    assert await store.usage_totals(OTHER_SERVER, since=0.0, today=0.0) == UsageTotals()


async def test_a_servers_top_members_spent_most_over_the_window_ties_by_id(store: StoreBackend) -> None:
    await spend(store, ANA, SERVER, 50, at=1500.0)
    await spend(store, ANA, SERVER, 10, at=2500.0)
    await spend(store, BO, SERVER, 60, at=1500.0)
    await spend(store, CY, SERVER, 500, at=500.0)  # before the window
    await spend(store, CY, SERVER, 1, at=2500.0)
    await spend(store, CY, OTHER_SERVER, 900, at=2500.0)
    for member in range(100, 120):
        await spend(store, member, SERVER, 2, at=2500.0)

    top = await store.top_chat_members(SERVER, since=1000.0, today=2000.0, limit=4)

    assert top == [
        MemberUsage(ANA, tokens=60, tokens_today=10),
        MemberUsage(BO, tokens=60, tokens_today=0),
        MemberUsage(100, tokens=2, tokens_today=2),
        MemberUsage(101, tokens=2, tokens_today=2),
    ]
    assert len(await store.top_chat_members(SERVER, since=1000.0, today=2000.0)) == 10
    assert await store.top_chat_members(99, since=0.0, today=0.0) == []


async def test_a_servers_own_quotas_are_kept_across_a_restart(backend: BackendDatabase) -> None:
    async with backend.open() as store:
        assert await store.chat_quota(SERVER) == ChatQuota()
        await store.set_chat_quota(SERVER, ChatQuota(per_member=100, per_server=0))
        await store.set_chat_quota(SERVER, ChatQuota(per_member=200, per_server=5000))
        await store.set_chat_quota(OTHER_SERVER, ChatQuota(per_server=1))
    async with backend.open() as store:
        assert await store.chat_quota(SERVER) == ChatQuota(per_member=200, per_server=5000)
        assert await store.chat_quota(OTHER_SERVER) == ChatQuota(per_server=1)


async def test_a_stored_quota_that_is_not_a_count_reads_as_none(backend: BackendDatabase) -> None:
    async with backend.open():
        pass
    await backend.insert_unchecked(
        "guild_chat_quotas", ("guild_id", "per_member", "per_server", "updated_at"), [(SERVER, -5, 12, 0.0)]
    )
    async with backend.open() as store:
        assert await store.chat_quota(SERVER) == ChatQuota(per_member=0, per_server=12)


async def test_two_processes_on_one_database_see_the_same_totals(backend: BackendDatabase) -> None:
    """What cluster mode relies on: a quota is summed from the database, not from what this process recorded."""
    async with backend.open() as first, backend.open() as second:
        await spend(first, ANA, SERVER, 100, at=1000.0)
        await spend(second, ANA, SERVER, 50, at=1000.0)
        await second.set_chat_quota(SERVER, ChatQuota(per_member=120))
        assert await first.chat_spending(ANA, SERVER, since=0.0) == ChatSpending(member=150, server=150)
        assert await first.chat_quota(SERVER) == ChatQuota(per_member=120)
