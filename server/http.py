"""What every handler shares: JSON errors and JSON bodies."""

from __future__ import annotations

import json
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
