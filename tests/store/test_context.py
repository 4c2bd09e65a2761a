"""Context selection: newest whole exchanges within budget, never a split pair, never an incomplete answer; and the
context each backend's store reads from its turns by those rules."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.fusion import Message
from bot.core.personas import PERSONA_ACKNOWLEDGEMENT, PERSONA_HEADING, persona_messages
from bot.core.store import StoreBackend
from bot.core.store.context import ContextBudget, ContextTurn, estimate_tokens, select_context


def turn(role: str, content: str, *, complete: bool = True, tokens: int = 10, name: str | None = None) -> ContextTurn:
    return ContextTurn(role, content, tokens, complete, name)


def test_cjk_characters_count_one_token_each_and_words_by_length() -> None:
    overhead = estimate_tokens("")
    assert estimate_tokens("你好世界") - overhead == 4
    assert estimate_tokens("hi a") - overhead == 2
    assert estimate_tokens("internationalization") - overhead == 5  # 20 letters, ~4 a token
    assert estimate_tokens("hello, 世界!") - overhead == 2 + 1 + 2 + 1
    assert estimate_tokens("x" * 4000) > estimate_tokens("x" * 400) > estimate_tokens("x" * 40)


def test_mixed_text_is_not_one_giant_word() -> None:
    assert estimate_tokens("abc你好def") - estimate_tokens("") == 1 + 2 + 1


def test_oldest_exchanges_are_dropped_first_to_fit_the_message_count() -> None:
    turns = [
        turn("user", "q1"),
        turn("assistant", "a1"),
        turn("user", "q2"),
        turn("assistant", "a2"),
        turn("user", "q3"),
    ]
    messages = select_context(turns, ContextBudget(max_messages=4, max_tokens=10_000))
    assert [m.content for m in messages] == ["q2", "a2", "q3"]


def test_token_budget_drops_whole_exchanges() -> None:
    turns = [turn("user", "q1"), turn("assistant", "a1", tokens=500), turn("user", "q2"), turn("assistant", "a2")]
    turns.append(turn("user", "q3"))
    messages = select_context(turns, ContextBudget(max_messages=100, max_tokens=100))
    assert [m.content for m in messages] == ["q2", "a2", "q3"]


def test_the_new_question_is_kept_even_alone_over_budget() -> None:
    turns = [turn("user", "q1"), turn("assistant", "a1"), turn("user", "huge", tokens=10_000)]
    assert [m.content for m in select_context(turns, ContextBudget(max_tokens=100))] == ["huge"]


def test_an_exchange_with_an_incomplete_answer_is_left_out() -> None:
    turns = [
        turn("user", "q1"),
        turn("assistant", "a1 (cut off)", complete=False),
        turn("user", "q2"),
        turn("assistant", "a2"),
        turn("user", "q3"),
    ]
    assert [m.content for m in select_context(turns, ContextBudget())] == ["q2", "a2", "q3"]


def test_a_failed_question_before_the_new_one_is_left_out() -> None:
    turns = [turn("user", "q1"), turn("assistant", "a1"), turn("user", "failed", complete=False), turn("user", "q2")]
    assert [m.content for m in select_context(turns, ContextBudget())] == ["q1", "a1", "q2"]


def test_speakers_are_named_only_when_asked() -> None:
    turns = [turn("user", "hi", name="Ana"), turn("assistant", "hello"), turn("user", "yo", name="Bo")]
    assert [m.content for m in select_context(turns, ContextBudget(), name_speakers=True)] == [
        "Ana: hi",
        "hello",
        "Bo: yo",
    ]
    assert select_context(turns, ContextBudget())[0].content == "hi"


roles = st.sampled_from(["user", "assistant"])
stored_turns = st.lists(
    st.builds(
        ContextTurn,
        role=roles,
        content=st.text(min_size=1, max_size=5),
        tokens=st.integers(min_value=1, max_value=300),
        complete=st.booleans().map(lambda incomplete: not incomplete) | st.just(True),
        author_name=st.none(),
    ),
    max_size=40,
)
budgets = st.builds(
    ContextBudget,
    max_messages=st.integers(min_value=2, max_value=30),
    max_tokens=st.integers(min_value=1, max_value=3000),
)


@settings(max_examples=300, deadline=None)
@given(turns=stored_turns, new_question=st.text(min_size=1, max_size=5).filter(str.strip), budget=budgets)
def test_context_is_a_suffix_of_whole_complete_exchanges_ending_with_the_question(
    turns: list[ContextTurn], new_question: str, budget: ContextBudget
) -> None:
    question = ContextTurn("user", new_question, 5, True)
    messages = select_context([*turns, question], budget)

    assert messages[-1].content == new_question and messages[-1].role == "user"
    assert messages[0].role == "user"
    # Every assistant message follows a user message: no answer is sent without its question.
    assert all(messages[i - 1].role == "user" for i, m in enumerate(messages) if m.role == "assistant")
    # Outside the open exchange, the budget holds.
    open_exchange_size = len(_open_exchange([*turns, question]))
    if len(messages) > open_exchange_size:
        assert len(messages) <= budget.max_messages
    # Nothing incomplete, and the messages are the newest complete exchanges in their original order.
    eligible = [t for exchange in _complete_exchanges([*turns, question]) for t in exchange]
    assert [(m.role, m.content) for m in messages] == [(t.role, t.content) for t in eligible[-len(messages) :]]


def _exchanges(turns: list[ContextTurn]) -> list[list[ContextTurn]]:
    exchanges: list[list[ContextTurn]] = [[]]
    for t in turns:
        exchanges[-1].append(t)
        if t.role == "assistant":
            exchanges.append([])
    return [e for e in exchanges if e]


def _complete_exchanges(turns: list[ContextTurn]) -> list[list[ContextTurn]]:
    """A model of the rule: drop unusable turns (incomplete or blank), the exchange of an unusable answer, and
    orphaned answers."""
    kept = []
    for exchange in _exchanges(turns):
        if exchange[-1].role == "assistant" and not _usable(exchange[-1]):
            continue
        usable = [t for t in exchange if _usable(t)]
        if any(t.role == "user" for t in usable):
            kept.append(usable)
    return kept


def _usable(turn: ContextTurn) -> bool:
    return turn.complete and turn.content.strip() != ""


def _open_exchange(turns: list[ContextTurn]) -> list[ContextTurn]:
    last = _complete_exchanges(turns)[-1]
    return last if last[-1].role == "user" else []


def test_a_blank_answer_is_left_out_with_its_question() -> None:
    for blank in ("", " ", "\n\t", "\u3000"):
        turns = [turn("user", "q1"), turn("assistant", blank), turn("user", "q2"), turn("assistant", "a2")]
        turns.append(turn("user", "q3"))
        assert [m.content for m in select_context(turns, ContextBudget())] == ["q2", "a2", "q3"]


def test_a_blank_question_is_left_out_and_an_answer_with_no_other_question_too() -> None:
    turns = [turn("user", " "), turn("user", "q1"), turn("assistant", "a1"), turn("user", ""), turn("assistant", "a2")]
    turns.append(turn("user", "q3"))
    assert [m.content for m in select_context(turns, ContextBudget())] == ["q1", "a1", "q3"]


def test_turns_of_unknown_roles_are_skipped() -> None:
    turns = [
        turn("user", "q1"),
        turn("system", "obey"),
        turn("assistant", "a1"),
        turn("tool", "{}"),
        turn("user", "q2"),
    ]
    assert [(m.role, m.content) for m in select_context(turns, ContextBudget())] == [
        ("user", "q1"),
        ("assistant", "a1"),
        ("user", "q2"),
    ]


def test_a_missing_or_negative_token_count_is_estimated_again() -> None:
    long = "word " * 200
    turns = [ContextTurn("user", long, -1000, True), ContextTurn("assistant", "a1", None, True), turn("user", "q2")]
    assert [m.content for m in select_context(turns, ContextBudget(max_tokens=10_000))] == [long, "a1", "q2"]
    assert [m.content for m in select_context(turns, ContextBudget(max_tokens=100))] == ["q2"]


blank_or_not = st.sampled_from(["", " ", "\n\t", "\u3000", "\r\n"]) | st.text(max_size=6)
hostile_turns = st.lists(
    st.builds(
        ContextTurn,
        role=st.sampled_from(["user", "assistant"]) | st.text(max_size=10),
        content=blank_or_not,
        tokens=st.none() | st.integers(),
        complete=st.booleans(),
        author_name=st.none() | blank_or_not,
    ),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(turns=hostile_turns, budget=budgets, name_speakers=st.booleans())
def test_no_stored_turn_fails_the_context_or_puts_a_blank_message_in_it(
    turns: list[ContextTurn], budget: ContextBudget, name_speakers: bool
) -> None:
    messages = select_context(turns, budget, name_speakers=name_speakers)

    assert all(m.content.strip() for m in messages)
    assert not messages or messages[0].role == "user"
    assert all(messages[i - 1].role == "user" for i, m in enumerate(messages) if i and m.role == "assistant")


STORED = [
    ("user", "hello there, how are you today?"),
    ("assistant", "fine, thanks " * 30),
    ("user", "一二三四五六七八九十"),
    ("assistant", ""),  # an empty answer: the exchange is not sent back
    ("user", "and now?"),
    ("assistant", "now this " * 5),
    ("user", "last one"),
    ("assistant", "ok"),
]  # then an answer cut off: never context


@pytest.mark.parametrize(
    ("budget", "kept"),  # kept: the indexes in STORED of the turns the context holds before the new question
    [
        pytest.param(ContextBudget(), [0, 1, 4, 5, 6, 7], id="all-that-is-usable"),
        pytest.param(ContextBudget(4, 4000), [6, 7], id="four-messages"),
        pytest.param(ContextBudget(40, 60), [4, 5, 6, 7], id="sixty-tokens"),
        pytest.param(ContextBudget(3, 30), [6, 7], id="three-messages-thirty-tokens"),
    ],
)
async def test_a_store_reads_the_context_of_its_turns_within_the_budget(
    store: StoreBackend, budget: ContextBudget, kept: list[int]
) -> None:
    for role, content in STORED:
        await store.append_turn(5, role, content, author_name="Ann" if role == "user" else None)  # type: ignore[arg-type]
    await store.append_turn(5, "assistant", "cut off", complete=False)
    exchange = await store.start_exchange(5, "the question", budget, name_speakers=True)

    named = [(role, f"Ann: {content}" if role == "user" else content) for role, content in STORED]
    assert exchange.messages == [
        Message(role=role, content=content)
        for role, content in [*(named[index] for index in kept), ("user", "the question")]
    ]
    assert await store.context(5, budget, name_speakers=True, before_turn=exchange.answer_id) == exchange.messages


# --- a persona first ---------------------------------------------------------------------------------------------

PERSONA = "You are a lighthouse keeper. Answer in French."
PERSONA_EXCHANGE = [
    Message(role="user", content=f"{PERSONA_HEADING}\n\n{PERSONA}"),
    Message(role="assistant", content=PERSONA_ACKNOWLEDGEMENT),
]


def persona_tokens(persona: str) -> int:
    return sum(estimate_tokens(message.content) for message in persona_messages(persona))


def test_a_persona_comes_first_as_an_exchange_of_its_own() -> None:
    turns = [turn("user", "q1", name="Ana"), turn("assistant", "a1"), turn("user", "q2", name="Bo")]
    messages = select_context(turns, ContextBudget(), name_speakers=True, persona=PERSONA)
    assert messages == [
        *PERSONA_EXCHANGE,
        Message(role="user", content="Ana: q1"),
        Message(role="assistant", content="a1"),
        Message(role="user", content="Bo: q2"),
    ]
    assert select_context(turns, ContextBudget(), persona=None) == select_context(turns, ContextBudget())
    assert select_context(turns, ContextBudget(), persona="") == select_context(turns, ContextBudget())


def test_a_persona_takes_its_tokens_out_of_the_budget() -> None:
    turns = [turn("user", "q1"), turn("assistant", "a1"), turn("user", "q2"), turn("assistant", "a2")]
    turns.append(turn("user", "q3"))
    budget = ContextBudget(max_tokens=30 + persona_tokens(PERSONA) - 1)  # 30 holds the last exchange and q3
    assert [m.content for m in select_context(turns, ContextBudget(max_tokens=30))] == ["q2", "a2", "q3"]
    assert [m.content for m in select_context(turns, budget, persona=PERSONA)[2:]] == ["q3"]


def test_a_persona_takes_two_messages_out_of_the_budget() -> None:
    turns = [turn("user", "q1"), turn("assistant", "a1"), turn("user", "q2"), turn("assistant", "a2")]
    turns.append(turn("user", "q3"))
    messages = select_context(turns, ContextBudget(max_messages=5), persona=PERSONA)
    assert [m.content for m in messages[2:]] == ["q2", "a2", "q3"]
    assert len(select_context(turns, ContextBudget(max_messages=4), persona=PERSONA)) == 3


def test_a_persona_is_never_trimmed_away_even_alone_over_budget() -> None:
    long_persona = "扮演一位只说中文的老船长。" * 115  # 1,495 characters, over a thousand tokens
    turns = [turn("user", "q1"), turn("assistant", "a1"), turn("user", "q2", tokens=10_000)]
    messages = select_context(turns, ContextBudget(max_messages=2, max_tokens=100), persona=long_persona)
    assert messages == [*persona_messages(long_persona), Message(role="user", content="q2")]


@settings(max_examples=300, deadline=None)
@given(
    turns=stored_turns,
    budget=budgets,
    persona=st.text(min_size=1, max_size=1500).filter(str.strip),
)
def test_with_a_persona_the_rest_is_chosen_as_within_a_budget_smaller_by_its_size(
    turns: list[ContextTurn], budget: ContextBudget, persona: str
) -> None:
    question = ContextTurn("user", "the question", 5, True)
    messages = select_context([*turns, question], budget, persona=persona)
    smaller = ContextBudget(budget.max_messages - 2, budget.max_tokens - persona_tokens(persona))
    assert messages[:2] == persona_messages(persona)
    assert messages[2:] == select_context([*turns, question], smaller)
