"""One wire base per API style. Python names are snake_case everywhere inside; the wire
spelling is the style's: camelCase for the v2 API and the webhooks, snake_case for the user
namespace of seed 004. A body is read by its wire names only (a v2 client sending
`first_name` is not understood, as it would not be by the API it integrates with)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class CamelModel(BaseModel):
    """camelCase on the wire (`series_id` is `seriesId`), validated and written by alias."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,
        serialize_by_alias=True,
    )


class SnakeModel(BaseModel):
    """snake_case on the wire, as inside (the user namespace)."""

    model_config = ConfigDict(validate_by_alias=True, validate_by_name=False, serialize_by_alias=True)
