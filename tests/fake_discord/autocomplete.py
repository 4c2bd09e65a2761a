"""Autocomplete: the APPLICATION_COMMAND_AUTOCOMPLETE interaction (type 4) and Discord's checks on its answer.

The interaction carries the options typed so far; the focused one has ``"focused": true`` and, as on Discord, its
value is the partial text typed (a string, whatever the option's type). Its type is the one the bot registered
(`tree.sync()`), else inferred from the test's value. The answer is a type-8 callback whose ``data.choices`` must
hold at most 25 choices, each with a name of 1-100 characters and a value of the focused option's type (a string
of at most 100 characters, an integer within +-2^53, a number); anything else is refused with 400, code 50035.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .compose import invalid_form_body, max_length
from .interactions import (
    INTEGER,
    NUMBER,
    STRING,
    CommandOptions,
    OptionBuilder,
    OptionValue,
    Subcommand,
    SubcommandGroup,
    base_interaction,
    channel_of,
    command_data,
    record,
    registered_command,
)
from .routing import ApiError

if TYPE_CHECKING:
    from .backend import Backend
    from .state import FakeInteraction

APPLICATION_COMMAND_AUTOCOMPLETE = 4
AUTOCOMPLETE_TYPES = frozenset({STRING, INTEGER, NUMBER})
MAX_CHOICES = 25
CHOICE_NAME_LIMIT = 100
CHOICE_STRING_LIMIT = 100
MAX_SAFE_INTEGER = 2**53 - 1


def leaf_options(options: CommandOptions | None) -> tuple[list[str], Mapping[str, OptionValue]]:
    """The names of the subcommand (group) path and the options given at its end."""
    if isinstance(options, SubcommandGroup):
        return [options.name, options.subcommand.name], options.subcommand.options
    if isinstance(options, Subcommand):
        return [options.name], options.options
    return [], options or {}


def registered_option(
    backend: Backend, name: str, path: list[str], option_name: str, guild_id: int | None
) -> dict[str, Any] | None:
    """The synced definition of option ``option_name`` of ``/name path...``, if the bot synced that command."""
    command, _ = registered_command(backend, name, guild_id)
    if command is None:
        return None
    options: list[dict[str, Any]] = command.get("options") or []
    for step in path:
        parent = next((o for o in options if o.get("name") == step), None)
        options = (parent or {}).get("options") or []
    return next((o for o in options if o.get("name") == option_name), None)


def build_autocomplete_interaction(
    backend: Backend,
    name: str,
    options: CommandOptions | None,
    focused: str | None,
    *,
    channel_id: int,
    user_id: int,
    locale: str,
    size_limit: int,
) -> FakeInteraction:
    path, given = leaf_options(options)
    focused = focused or next(reversed(list(given)), None)
    if focused is None or focused not in given:
        raise ValueError(f"the focused option {focused!r} is not among the options given: {list(given)}")
    payload = base_interaction(
        backend, APPLICATION_COMMAND_AUTOCOMPLETE, channel_id, user_id, locale=locale, size_limit=size_limit
    )
    guild_id = channel_of(backend, channel_id).guild_id
    definition = registered_option(backend, name, path, focused, guild_id)
    if definition is not None and not definition.get("autocomplete"):
        raise ValueError(f"option {focused!r} of /{name} was synced without autocomplete: Discord would not ask")
    builder = OptionBuilder(backend, guild_id)
    built = builder.build(options)
    leaf = built
    for _ in path:
        leaf = leaf[0]["options"]
    option = next(o for o in leaf if o["name"] == focused)
    option_type = int(definition["type"]) if definition is not None else option["type"]
    if option_type not in AUTOCOMPLETE_TYPES:
        raise ValueError(f"option {focused!r} is of type {option_type}; autocomplete is for strings and numbers")
    option.update(type=option_type, value=str(given[focused]), focused=True)
    payload["data"] = command_data(backend, name, built, builder.resolved, guild_id)
    return record(backend, payload, name=name, source_message_id=None)


def focused_option(options: list[dict[str, Any]]) -> dict[str, Any] | None:
    for option in options:
        if option.get("focused"):
            return option
        inner = focused_option(option.get("options") or [])
        if inner is not None:
            return inner
    return None


def validate_autocomplete_result(interaction: FakeInteraction, data: dict[str, Any]) -> None:
    """Refuse (400, 50035) what Discord refuses in ``data.choices`` of a type-8 callback."""
    choices = data.get("choices")
    if not isinstance(choices, list):
        required = {"_errors": [{"code": "BASE_TYPE_REQUIRED", "message": "This field is required"}]}
        raise invalid_form_body({"choices": required}, ("data",))
    if len(choices) > MAX_CHOICES:
        raise invalid_form_body({"choices": max_length(MAX_CHOICES)}, ("data",))
    focused = focused_option(interaction.payload["data"].get("options") or [])
    option_type = int(focused["type"]) if focused is not None else STRING
    errors = {
        str(index): problems for index, choice in enumerate(choices) if (problems := choice_errors(choice, option_type))
    }
    if errors:
        raise invalid_form_body({"choices": errors}, ("data",))


def choice_errors(choice: Any, option_type: int) -> dict[str, Any]:
    if not isinstance(choice, dict):
        return error("DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
    errors: dict[str, Any] = {}
    name = choice.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= CHOICE_NAME_LIMIT:
        errors["name"] = error("BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {CHOICE_NAME_LIMIT} in length.")
    problem = value_error(choice.get("value"), option_type)
    if problem is not None:
        errors["value"] = problem
    return errors


def value_error(value: Any, option_type: int) -> dict[str, Any] | None:
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if option_type == STRING:
        if not isinstance(value, str):
            return error("STRING_TYPE_CONVERT", f"Could not interpret {value!r} as string.")
        if len(value) > CHOICE_STRING_LIMIT:
            return error("BASE_TYPE_BAD_LENGTH", f"Must be between 0 and {CHOICE_STRING_LIMIT} in length.")
    elif option_type == INTEGER:
        if not is_number or (isinstance(value, float) and not value.is_integer()):
            return error("NUMBER_TYPE_COERCE", f"Value {value!r} is not int.")
        if abs(value) > MAX_SAFE_INTEGER:
            return error("NUMBER_TYPE_MAX", f"int value should be less than or equal to {MAX_SAFE_INTEGER}.")
    elif not is_number or not math.isfinite(value):
        return error("NUMBER_TYPE_COERCE", f"Value {value!r} is not a valid number.")
    return None


def error(code: str, message: str) -> dict[str, Any]:
    return {"_errors": [{"code": code, "message": message}]}


def require_autocomplete_pairing(interaction: FakeInteraction, callback_type: int, autocomplete_result: int) -> None:
    """An autocomplete interaction takes only a type-8 answer, and a type-8 answer only fits one (else 400)."""
    is_autocomplete = interaction.type == APPLICATION_COMMAND_AUTOCOMPLETE
    if is_autocomplete != (callback_type == autocomplete_result):
        message = f"Interaction response type {callback_type} is not valid for interaction type {interaction.type}."
        raise ApiError(400, 50035, "Invalid Form Body", {"type": error("INTERACTION_RESPONSE_TYPE_INVALID", message)})
