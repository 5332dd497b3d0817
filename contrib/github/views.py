"""`POST /webhooks/github/`: verify, store, answer fast; processing happens in a worker."""

import json
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from contrib.github.services import webhook_delivery_receive
from contrib.github.signature import signature_is_valid

# GitHub's payloads nest about ten levels; far more is an attack on whoever walks them.
MAX_PAYLOAD_DEPTH = 64


_CONTAINERS = {dict, list}


def json_depth(value: Any, *, limit: int = MAX_PAYLOAD_DEPTH) -> int:
    """How many levels of objects and arrays a value parsed by `json.loads` nests, counted level
    by level over its containers only (no recursion to exhaust, scalars never gathered), and no
    further than one level past `limit`. `json.loads` makes plain dicts and lists only, so their
    exact types are tested (three times faster than `isinstance`)."""
    depth, level = 0, [value] if type(value) in _CONTAINERS else []
    while level and depth <= limit:
        depth += 1
        level = [
            child
            for item in level
            for child in (item.values() if type(item) is dict else item)
            if type(child) in _CONTAINERS
        ]
    return depth


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity: Python reads them, JSON has none


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@csrf_exempt  # authenticated by the HMAC signature instead of a CSRF token
@require_POST
def github_webhook(request: HttpRequest) -> JsonResponse:
    limit = settings.GITHUB_WEBHOOK_MAX_BYTES
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        return _error(400, "Content-Length is not a number")
    if declared > limit:
        return _error(413, f"payload is larger than GitHub's limit of {limit} bytes")
    body = request.read(limit + 1)
    if len(body) > limit:
        return _error(413, f"payload is larger than GitHub's limit of {limit} bytes")

    secret = settings.GITHUB_WEBHOOK_SECRET
    if not secret:
        return _error(401, "this server has no GITHUB_WEBHOOK_SECRET, so it accepts no webhooks")
    if not signature_is_valid(
        secret=secret, body=body, header=request.headers.get("X-Hub-Signature-256")
    ):
        return _error(401, "missing or wrong X-Hub-Signature-256 signature")

    event = request.headers.get("X-GitHub-Event", "").strip()
    delivery_id = request.headers.get("X-GitHub-Delivery", "").strip()
    if not event or not delivery_id:
        return _error(400, "X-GitHub-Event and X-GitHub-Delivery headers are required")
    if len(delivery_id) > 100 or len(event) > 100:
        return _error(400, "X-GitHub-Event or X-GitHub-Delivery is too long")

    try:
        if request.content_type == "application/x-www-form-urlencoded":
            body = (parse_qs(body.decode()).get("payload") or [""])[0].encode()
        text = body.decode()
        payload = json.loads(text, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        return _error(400, f"payload is not valid JSON: {exc}")
    except RecursionError:
        return _error(400, "payload is nested too deeply")
    if not isinstance(payload, dict):
        return _error(400, "payload must be a JSON object")
    if json_depth(payload) > MAX_PAYLOAD_DEPTH:
        return _error(400, f"payload is nested more than {MAX_PAYLOAD_DEPTH} levels deep")

    hook_id = request.headers.get("X-GitHub-Hook-ID")
    delivery, created = webhook_delivery_receive(
        delivery_id=delivery_id,
        event=event,
        payload=payload,
        payload_text=text,
        hook_id=int(hook_id) if hook_id and hook_id.isdigit() else None,
    )
    if not created:
        return JsonResponse(
            {"status": "duplicate", "delivery": delivery_id, "outcome": delivery.outcome},
            status=200,
        )
    if event == "ping":
        return JsonResponse({"status": "pong", "delivery": delivery_id}, status=200)
    return JsonResponse({"status": "queued", "delivery": delivery_id}, status=202)
