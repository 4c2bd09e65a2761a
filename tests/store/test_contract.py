"""The store's contract and its backends agree: every consumer's protocol is part of the whole, and each backend
(`BACKENDS`: the SQLite and the PostgreSQL store) has every method of the whole with the same signature."""

from __future__ import annotations

import inspect

import pytest

from bot.core.store import contract
from bot.core.store.postgresql import PostgresStore
from bot.core.store.sqlite import SQLiteStore

BACKENDS = [SQLiteStore, PostgresStore]
CONSUMER_PROTOCOLS = [
    contract.AccessRecords,
    contract.ChatRecords,
    contract.ConsoleRecords,
    contract.ConversationRecords,
    contract.ChannelSwitch,
    contract.DrawRecords,
    contract.PictureLookup,
    contract.RepairRecords,
    contract.ServerControls,
    contract.PersonaLookup,
    contract.PersonaRecords,
    contract.BotState,
]
CONTEXT_MANAGERS = {"exclusive"}  # methods that return an async context manager


def methods(protocol: type) -> set[str]:
    return {name for name in dir(protocol) if not name.startswith("_") and callable(getattr(protocol, name))}


def test_every_consumer_protocol_is_part_of_the_whole_store() -> None:
    assert all(protocol in contract.StoreBackend.__mro__ for protocol in CONSUMER_PROTOCOLS)


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda backend: backend.__name__)
@pytest.mark.parametrize("name", sorted(methods(contract.StoreBackend)))
def test_a_backend_has_each_method_of_the_contract_with_its_signature(backend: type, name: str) -> None:
    promised, kept = getattr(contract.StoreBackend, name), getattr(backend, name, None)
    assert kept is not None, f"{backend.__name__} has no {name}"
    if name in CONTEXT_MANAGERS:  # an @asynccontextmanager generator: compared but for what it returns
        assert inspect.isasyncgenfunction(inspect.unwrap(kept))
        assert inspect.signature(kept).parameters == inspect.signature(promised).parameters
    else:
        assert inspect.iscoroutinefunction(kept)
        assert inspect.signature(kept) == inspect.signature(promised)


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda backend: backend.__name__)
def test_a_backend_offers_nothing_public_beyond_the_contract(backend: type) -> None:
    assert methods(backend) - methods(contract.StoreBackend) == {"open"}
