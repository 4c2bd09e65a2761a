"""Message commands (a context menu: Apps > name, on a message) and modals.

A message command is an APPLICATION_COMMAND interaction (type 2) whose ``data`` is ``{id, name, type 3, target_id,
resolved{messages{id: message}}}``. The target message is there as the REST API shows it, content, embeds and
attachments included whether or not the bot has the message-content intent, as Discord sends it.

A modal is the callback type 9 ``{custom_id, title, components}``, checked as Discord does (`validate_modal`): a title
of 1-45 characters, 1-5 components, each an action row (type 1) holding one text input (type 4) or a label (type 18)
around one; a text input's custom id of 1-100 characters, style 1 or 2, lengths within 0-4000, a label of at most 45
and a placeholder of at most 100 characters. Anything else is refused with 400, code 50035, and so is a modal in
answer to a modal submission.

Its submission is a MODAL_SUBMIT interaction (type 5) from the user the modal was shown to, with ``data{custom_id,
components}``: each row as shown, its text input carrying the ``value`` typed (an empty string when left empty).
`modal_submission` refuses, as a Discord client would not send them, values for inputs the modal does not have,
an empty required input, and values outside an input's lengths.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import payloads
from .compose import invalid_form_body, max_length
from .interactions import base_interaction, channel_of, record, registered_command
from .state import FakeInteraction, FakeMessage

if TYPE_CHECKING:
    from .backend import Backend

MESSAGE_COMMAND = 3
MODAL_CALLBACK = 9
ACTION_ROW, TEXT_INPUT, LABEL = 1, 4, 18
TEXT_INPUT_STYLES = frozenset({1, 2})
MAX_MODAL_COMPONENTS = 5
MODAL_TITLE_LIMIT = 45
CUSTOM_ID_LIMIT = 100
INPUT_LABEL_LIMIT = 45
PLACEHOLDER_LIMIT = 100
TEXT_INPUT_LIMIT = 4000


def build_message_command_interaction(
    backend: Backend, name: str, message: FakeMessage, *, user_id: int, locale: str, size_limit: int
) -> FakeInteraction:
    """Message command ``name`` used on ``message``, by ``user_id`` in that message's channel."""
    payload = base_interaction(
        backend, payloads.APPLICATION_COMMAND, message.channel_id, user_id, locale=locale, size_limit=size_limit
    )
    guild_id = channel_of(backend, message.channel_id).guild_id
    command, scope = registered_command(backend, name, guild_id, kind=MESSAGE_COMMAND)
    data: dict[str, Any] = {
        "id": str(command["id"]) if command is not None else str(backend.state.new_id()),
        "name": name,
        "type": MESSAGE_COMMAND,
        "target_id": str(message.id),
        "resolved": {"messages": {str(message.id): payloads.message(backend, message)}},
    }
    if scope is not None:
        data["guild_id"] = str(scope)
    payload["data"] = data
    return record(backend, payload, name=name, source_message_id=None)


def validate_modal(interaction: FakeInteraction, data: dict[str, Any]) -> None:
    """Discord's checks on a type-9 callback (see the module's docstring)."""
    if interaction.type == payloads.MODAL_SUBMIT:  # (an autocomplete takes only its type 8: see `autocomplete`)
        bad = {"_errors": [{"code": "INTERACTION_RESPONSE_TYPE_INVALID", "message": "Not valid here."}]}
        raise invalid_form_body({"type": bad}, ())
    errors: dict[str, Any] = {}
    title, custom_id = data.get("title") or "", data.get("custom_id") or ""
    if not 1 <= len(title) <= MODAL_TITLE_LIMIT:
        errors["title"] = max_length(MODAL_TITLE_LIMIT)
    if not 1 <= len(custom_id) <= CUSTOM_ID_LIMIT:
        errors["custom_id"] = max_length(CUSTOM_ID_LIMIT)
    components = data.get("components") or []
    if not 1 <= len(components) <= MAX_MODAL_COMPONENTS:
        errors["components"] = max_length(MAX_MODAL_COMPONENTS)
    for index, component in enumerate(components):
        problem = component_errors(component)
        if problem:
            errors.setdefault("components", {})[str(index)] = problem
    if errors:
        raise invalid_form_body(errors, ("data",))


def component_errors(component: dict[str, Any]) -> dict[str, Any]:
    """What is wrong with one top-level component of a modal (empty: nothing)."""
    kind = component.get("type")
    if kind == ACTION_ROW:
        inner = component.get("components") or []
        if len(inner) != 1:
            return {"components": max_length(1)}
        problem = text_input_errors(inner[0], labelled=True)
        return {"components": {"0": problem}} if problem else {}
    if kind == LABEL:
        label = component.get("label") or ""
        if not 1 <= len(label) <= INPUT_LABEL_LIMIT:
            return {"label": max_length(INPUT_LABEL_LIMIT)}
        problem = text_input_errors(component.get("component") or {}, labelled=False)
        return {"component": problem} if problem else {}
    return {"type": {"_errors": [{"code": "UNION_TYPE_CHOICES", "message": f"Not a modal component: {kind}."}]}}


def text_input_errors(text_input: dict[str, Any], *, labelled: bool) -> dict[str, Any]:
    """A text input's problems; ``labelled``: it carries its own label (in an action row) instead of a label's."""
    errors: dict[str, Any] = {}
    if text_input.get("type") != TEXT_INPUT:
        errors["type"] = {"_errors": [{"code": "UNION_TYPE_CHOICES", "message": "Only text inputs here."}]}
    if not 1 <= len(text_input.get("custom_id") or "") <= CUSTOM_ID_LIMIT:
        errors["custom_id"] = max_length(CUSTOM_ID_LIMIT)
    if text_input.get("style") not in TEXT_INPUT_STYLES:
        errors["style"] = {"_errors": [{"code": "BASE_TYPE_CHOICES", "message": "Value must be 1 or 2."}]}
    label = text_input.get("label") or ""
    if labelled and not 1 <= len(label) <= INPUT_LABEL_LIMIT:
        errors["label"] = max_length(INPUT_LABEL_LIMIT)
    if len(text_input.get("placeholder") or "") > PLACEHOLDER_LIMIT:
        errors["placeholder"] = max_length(PLACEHOLDER_LIMIT)
    low, high = input_lengths(text_input)
    if not (0 <= low <= TEXT_INPUT_LIMIT and 1 <= high <= TEXT_INPUT_LIMIT and low <= high):
        errors["max_length"] = max_length(TEXT_INPUT_LIMIT)
    if len(text_input.get("value") or "") > high:
        errors["value"] = max_length(high)
    return errors


def input_lengths(text_input: dict[str, Any]) -> tuple[int, int]:
    low = text_input.get("min_length")
    high = text_input.get("max_length")
    return (0 if low is None else int(low)), (TEXT_INPUT_LIMIT if high is None else int(high))


def text_inputs(modal: dict[str, Any]) -> list[dict[str, Any]]:
    """The text inputs of a modal, in order."""
    inputs = []
    for component in modal.get("components") or []:
        if component.get("type") == ACTION_ROW:
            inputs += component.get("components") or []
        elif component.get("type") == LABEL:
            inputs.append(component.get("component") or {})
    return inputs


def modal_submission(modal: dict[str, Any], values: Mapping[str, str]) -> list[dict[str, Any]]:
    """The ``components`` of a submission of ``modal`` with ``values`` by custom id (see the module's docstring)."""
    inputs = {text_input["custom_id"]: text_input for text_input in text_inputs(modal)}
    unknown = sorted(set(values) - set(inputs))
    if unknown:
        raise ValueError(f"the modal has no text input {unknown}; it has {sorted(inputs)}")
    for custom_id, text_input in inputs.items():
        check_value(custom_id, text_input, values.get(custom_id, ""))

    def submitted(text_input: dict[str, Any]) -> dict[str, Any]:
        value = values.get(text_input["custom_id"], "")
        return {"type": TEXT_INPUT, "custom_id": text_input["custom_id"], "value": value}

    rows = []
    for component in modal.get("components") or []:
        if component.get("type") == ACTION_ROW:
            rows.append({"type": ACTION_ROW, "components": [submitted(c) for c in component["components"]]})
        else:
            rows.append({"type": LABEL, "component": submitted(component["component"])})
    return rows


def check_value(custom_id: str, text_input: dict[str, Any], value: str) -> None:
    low, high = input_lengths(text_input)
    if not value and text_input.get("required", True):
        raise ValueError(f"text input {custom_id!r} is required: a Discord client would not submit it empty")
    if value and not low <= len(value) <= high:
        raise ValueError(f"text input {custom_id!r} takes {low}-{high} characters, not {len(value)}")


def build_modal_submit_interaction(
    backend: Backend, shown_by: FakeInteraction, values: Mapping[str, str], *, locale: str
) -> FakeInteraction:
    """The submission of the modal that ``shown_by`` answered with, by the user it was shown to."""
    callback = shown_by.callback
    if callback is None or callback.type != MODAL_CALLBACK:
        raise ValueError(f"interaction {shown_by.id} was not answered with a modal: {callback}")
    payload = base_interaction(
        backend,
        payloads.MODAL_SUBMIT,
        shown_by.channel_id,
        shown_by.user_id,
        locale=locale,
        size_limit=shown_by.attachment_size_limit,
    )
    payload["data"] = {
        "custom_id": callback.data["custom_id"],
        "components": modal_submission(callback.data, values),
    }
    source = backend.state.messages.get(shown_by.source_message_id or 0)
    if source is not None:  # a modal opened from a button: its submission carries that message too
        payload["message"] = payloads.message(backend, source)
    return record(backend, payload, name=None, source_message_id=shown_by.source_message_id)
