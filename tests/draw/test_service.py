"""Drawing through the real fusion client, emulator, downloader and store: outcomes, quotas, cancelling, restarts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from bot.config import load_settings
from bot.core.downloads import PictureDownloader
from bot.core.draw import (
    DrawLimits,
    DrawOutcome,
    DrawQueue,
    DrawRefusedError,
    DrawService,
    DrawSpec,
    DrawStatus,
    QueueLimits,
    Requester,
)
from bot.core.store import Store
from bot.emulator import drawn_picture, received_requests
from bot.runtime import fusion_client
from tests.draw.conftest import OpenProcess
from tests.emulator_server import EmulatorServer

ALICE = Requester(user_id=10, guild_id=1, channel_id=100, display_name="Alice")
BOB = Requester(user_id=11, guild_id=1, channel_id=100, display_name="Bob")


@dataclass
class RecordingDisplay:
    """Records what a request showed, in order."""

    shown: list[object] = field(default_factory=list)
    started: asyncio.Event = field(default_factory=asyncio.Event)

    def waiting(self, place: int, waiting: int) -> None:
        self.shown.append(("waiting", place, waiting))

    def drawing(self, elapsed_seconds: float) -> None:
        self.shown.append("drawing")
        self.started.set()

    async def finished(self, outcome: DrawOutcome) -> int | None:
        self.shown.append(outcome.status)
        return 555


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def parts(emulator: EmulatorServer, tmp_path: Path) -> AsyncIterator[tuple[Store, aiohttp.ClientSession]]:
    async with aiohttp.ClientSession() as session, await Store.open(tmp_path / "bot.sqlite3") as store:
        yield store, session


MakeService = Callable[..., DrawService]


@pytest.fixture
async def make_service(
    emulator: EmulatorServer, parts: tuple[Store, aiohttp.ClientSession]
) -> AsyncIterator[MakeService]:
    store, session = parts
    settings = load_settings(fusion_api_url=emulator.url, fusion_api_key="k", fusion_retry_backoff=0.01)
    downloaders: list[PictureDownloader] = []

    def make(*, max_drawing: int = 2, clock: Clock | None = None, **limits: object) -> DrawService:
        downloader = PictureDownloader(allow_private=True)
        downloaders.append(downloader)
        queue = DrawQueue(QueueLimits(max_drawing=max_drawing, max_drawing_per_server=max_drawing, max_waiting=10))
        return DrawService(
            fusion_client(session, settings),
            store,
            downloader,
            queue,
            DrawLimits(**{"progress_seconds": 0.05, **limits}),  # type: ignore[arg-type]
            clock=clock or Clock(),
        )

    yield make
    for downloader in downloaders:
        await downloader.close()


def spec(prompt: str = "a red fox", **changes: object) -> DrawSpec:
    fields: dict[str, object] = {"model": "Artist_V0.1.3", "size": "640x640", "seed": 42, "scale": 7} | changes
    return DrawSpec(prompt, **fields)  # type: ignore[arg-type]


async def draw(service: DrawService, picture: DrawSpec, requester: Requester = ALICE) -> DrawOutcome:
    ticket = await service.admit(picture, requester)
    return await service.draw(ticket, picture, RecordingDisplay(), max_bytes=10 * 2**20)


async def test_a_picture_is_drawn_with_every_option_downloaded_and_recorded(
    make_service: MakeService, emulator: EmulatorServer, parts: tuple[Store, aiohttp.ClientSession]
) -> None:
    service, display = make_service(), RecordingDisplay()
    picture = spec(size="512x768", seed=1234, scale=12, controlnet="canny")
    ticket = await service.admit(picture, ALICE)
    outcome = await service.draw(ticket, picture, display, max_bytes=10 * 2**20)

    assert outcome.status is DrawStatus.DONE and outcome.picture is not None
    assert outcome.picture.data == drawn_picture(emulator.app, outcome.picture.filename.removesuffix(".png"))
    body = received_requests(emulator.app)[-1].body
    assert {key: body[key] for key in ("mh_model_name", "mh_output_size", "mh_select_seed", "mh_scale")} == {
        "mh_model_name": "Artist_V0.1.3",
        "mh_output_size": "512x768",
        "mh_select_seed": 1234,
        "mh_scale": 12,
    }
    assert body["mh_controlnet_model"] == "canny"
    assert body["user_id"] == "10"
    assert body["messages"] == [{"role": "user", "content": picture.drawing_prompt()}]
    assert display.shown[0] == "drawing" and display.shown[-1] is DrawStatus.DONE
    stored = await parts[0].generation(ticket.generation_id)
    assert stored is not None and (stored.status, stored.message_id, stored.seed) == ("done", 555, 1234)


@pytest.mark.parametrize(
    ("picture", "status", "says"),
    [
        (spec("a fox [emu:refuse=moderation]"), DrawStatus.REFUSED, "flagged by moderation"),
        (spec("a fox", model="Nonexistent"), DrawStatus.REFUSED, "'Nonexistent' is not supported"),
        (spec("a fox [emu:picture-fault=not-image]"), DrawStatus.FAILED, "is not a PNG, JPEG, WebP or GIF"),
        (spec("a fox [emu:status=500] [emu:fail=9x500]"), DrawStatus.FAILED, ""),
    ],
)
async def test_refusals_and_failures_name_their_cause_and_cost_nothing(
    make_service: MakeService, picture: DrawSpec, status: DrawStatus, says: str
) -> None:
    service = make_service(daily_quota=1)
    outcome = await draw(service, picture)
    assert outcome.status is status
    assert outcome.picture is None
    assert says in outcome.reason
    assert (await draw(service, spec())).status is DrawStatus.DONE  # the one picture of the quota is still there


async def test_a_text_answer_instead_of_a_picture_is_shown_as_a_refusal(make_service: MakeService) -> None:
    outcome = await draw(make_service(), spec("a fox [emu:words]"))
    assert outcome.status is DrawStatus.REFUSED
    assert outcome.reason.startswith("The service answered in words")


async def test_the_cooldown_and_the_daily_quota_hold_until_they_expire(make_service: MakeService) -> None:
    clock = Clock()
    service = make_service(clock=clock, cooldown_seconds=60, daily_quota=2)
    await draw(service, spec())
    with pytest.raises(DrawRefusedError, match="Please wait 1 min"):
        await service.admit(spec(), ALICE)
    await service.admit(spec(), BOB)  # another user is not held back
    clock.now += 61
    await draw(service, spec())
    clock.now += 61
    with pytest.raises(
        DrawRefusedError, match=r"used your 2 picture\(s\) for the last 24 hours. Try again in 23 h 58 min"
    ):
        await service.admit(spec(), ALICE)
    clock.now += 24 * 3600 - 121
    await service.admit(spec(), ALICE)


async def test_quota_and_cooldown_survive_a_restart(make_service: MakeService, tmp_path: Path) -> None:
    clock = Clock()
    await draw(make_service(clock=clock, daily_quota=1), spec())
    restarted = make_service(clock=clock, daily_quota=1, cooldown_seconds=3600)  # same store, new queue
    with pytest.raises(DrawRefusedError, match="Please wait 1 h"):
        await restarted.admit(spec(), ALICE)


async def test_pictures_waiting_in_the_queue_count_against_the_quota(make_service: MakeService) -> None:
    service = make_service(daily_quota=1)
    await service.admit(spec(), ALICE)
    with pytest.raises(DrawRefusedError, match="on the way"):
        await service.admit(spec(), ALICE)


async def start_slow_picture(
    service: DrawService, requester: Requester = ALICE
) -> tuple[int, asyncio.Task[DrawOutcome]]:
    """Admit a picture that takes 30 s to draw, and return its id and task once it is being drawn."""
    slow, display = spec("a fox [emu:picture-delay=30]"), RecordingDisplay()
    ticket = await service.admit(slow, requester)
    drawing = asyncio.create_task(service.draw(ticket, slow, display, max_bytes=2**20))
    await display.started.wait()
    return ticket.generation_id, drawing


async def test_a_cancelled_request_says_who_cancelled_it_and_frees_its_place(
    make_service: MakeService, parts: tuple[Store, aiohttp.ClientSession]
) -> None:
    service = make_service(max_drawing=1)
    first_id, first = await start_slow_picture(service)
    waiting_ticket = await service.admit(spec(), BOB)
    waiting = asyncio.create_task(service.draw(waiting_ticket, spec(), RecordingDisplay(), max_bytes=2**20))

    assert await service.cancel(first_id, "Cancelled by Mod.")
    outcome = await first
    assert (outcome.status, outcome.reason) == (DrawStatus.CANCELLED, "Cancelled by Mod.")
    assert (await waiting).status is DrawStatus.DONE  # it got the freed turn
    stored = await parts[0].generation(first_id)
    assert stored is not None and stored.status == "cancelled"
    assert not await service.cancel(first_id, "again")


async def test_closing_interrupts_requests_in_progress_and_refuses_new_ones(
    make_service: MakeService, parts: tuple[Store, aiohttp.ClientSession]
) -> None:
    service = make_service(max_drawing=1)
    generation_id, drawing = await start_slow_picture(service)
    await service.close()
    outcome = await drawing
    assert outcome.status is DrawStatus.INTERRUPTED
    assert "restarting" in outcome.reason
    stored = await parts[0].generation(generation_id)
    assert stored is not None and stored.status == "failed"
    with pytest.raises(DrawRefusedError, match="restarting"):
        await service.admit(spec(), BOB)


@pytest.mark.parametrize("record_in_chat", [False, True])
async def test_draw_prompts_join_the_chat_context_only_when_the_setting_says_so(
    make_service: MakeService, parts: tuple[Store, aiohttp.ClientSession], record_in_chat: bool
) -> None:
    await draw(make_service(record_in_chat=record_in_chat), spec())
    turns = await parts[0].turns(ALICE.channel_id)
    assert [turn.role for turn in turns] == (["user", "assistant"] if record_in_chat else [])


async def test_one_users_admissions_in_two_processes_take_turns_so_the_daily_quota_holds(
    open_process: OpenProcess, emulator: EmulatorServer
) -> None:
    limits = QueueLimits(max_drawing=10, max_drawing_per_server=10, max_waiting=10)  # only the quota refuses
    processes = [await open_process(limits), await open_process(limits)]
    settings = load_settings(fusion_api_url=emulator.url, fusion_api_key="k")
    async with aiohttp.ClientSession() as session, PictureDownloader(allow_private=True) as downloader:
        services = [
            DrawService(
                fusion_client(session, settings), p.store, downloader, p.queue, DrawLimits(daily_quota=1), clock=Clock()
            )
            for p in processes
        ]
        for user_id in (10, 11, 12):  # each asking at once in two servers, whose shards are in two processes
            asking = [Requester(user_id, guild_id, channel_id=guild_id * 100) for guild_id in (1, 2)]
            results = await asyncio.gather(
                *(service.admit(spec(), requester) for service, requester in zip(services, asking, strict=True)),
                return_exceptions=True,
            )
            refused = [result for result in results if isinstance(result, DrawRefusedError)]
            assert len(refused) == 1 and "on the way" in refused[0].user_message, results
            assert await processes[0].queue.held_by(user_id) == 1
