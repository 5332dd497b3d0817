"""The API's JSON parser: DRF's, plus a 400 for a body nested too deeply (the API's bodies are
flat: a config, a bounty, a doc revision)."""

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from contrib.github.views import json_depth

MAX_BODY_DEPTH = 32


class BoundedJSONParser(JSONParser):
    """A body nested more than `MAX_BODY_DEPTH` levels (or past Python's recursion limit) is a
    malformed request (400), not work for the views nor a 500."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the body is nested too deeply") from exc
        if json_depth(data, limit=MAX_BODY_DEPTH) > MAX_BODY_DEPTH:
            raise ParseError(f"JSON parse error - the body nests more than {MAX_BODY_DEPTH} levels")
        return data
