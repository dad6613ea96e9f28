"""What every handler shares: JSON errors, JSON bodies, date parameters."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aiohttp import web


def error(cls: type[web.HTTPException], message: str) -> web.HTTPException:
    """Every 4xx is JSON: {"error": message}."""
    return cls(text=json.dumps({"error": message}), content_type="application/json")


async def json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except web.HTTPRequestEntityTooLarge:
        raise
    except Exception:
        raise error(web.HTTPBadRequest, "the body must be JSON") from None
    if not isinstance(body, dict):
        raise error(web.HTTPBadRequest, "the body must be a JSON object")
    return body


def is_date(text: str) -> bool:
    """A query parameter of the form YYYY-MM-DD."""
    try:
        datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        return False
    return True
