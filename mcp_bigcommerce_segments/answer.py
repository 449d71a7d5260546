"""A complete answer from BigCommerce (status, body, headers) and how its body is read: as JSON, leniently, or as
one typed page. Nothing here sends anything."""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from .errors import APIStatusError, ResponseShapeError, body_detail, error_from_response, quote_store_text
from .models import Page, T


@dataclass(frozen=True)
class Answer:
    """A complete answer: status, body (read whole, within the size cap) and headers."""

    status: int
    body: bytes
    what: str
    headers: Mapping[str, str] = field(default_factory=dict)

    def error(self) -> APIStatusError:
        """The error this answer's status means."""
        return error_from_response(self.status, self.body, self.headers, what=self.what)

    @property
    def detail(self) -> str:
        """BigCommerce's own words from the body ("" when it said nothing)."""
        return body_detail(self.body)

    def json(self) -> Any:
        """The body as JSON ({} when empty).

        Raises:
            ResponseShapeError: the body is not JSON.
        """
        if not self.body:
            return {}
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise not_json(self.what, self.status, self.headers.get("content-type", "")) from exc

    def lenient_json(self) -> Any:
        """The body as JSON, or {} when it is not JSON."""
        try:
            return self.json()
        except ResponseShapeError:
            return {}


def not_json(what: str, status: int, content_type: str) -> ResponseShapeError:
    kind = quote_store_text(content_type.split(";")[0], 60) or "no content type"
    return ResponseShapeError(
        f"BigCommerce answered {what} with something that is not JSON ({kind}, status {status}); a proxy or an "
        "outage page may be in the way. Retry in a minute."
    )


def parse_page(answer: Answer, model: type[Page[T]], what: str) -> Page[T]:
    """A page answer as `model`.

    Raises:
        ResponseShapeError: it lacks the data or pagination the spec promises.
    """
    try:
        try:
            return model.model_validate_json(answer.body)
        except ValidationError as exc:
            if not (exc.error_count() and exc.errors()[0]["type"] == "json_invalid"):
                raise
            # Python's parser reads what pydantic's refuses (lone surrogates, shown escaped by the models).
            return model.model_validate(answer.json())
    except ValidationError as exc:
        raise ResponseShapeError(
            f"BigCommerce's answer for {what} lacks the data or pagination the API promises; "
            "nothing was changed. Retry in a minute."
        ) from exc
