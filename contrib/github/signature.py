"""GitHub's `X-Hub-Signature-256`: HMAC-SHA256 of the raw body, compared in constant time."""

import hashlib
import hmac


def signature_for(*, secret: str, body: bytes) -> str:
    """The header value GitHub sends for `body` signed with `secret`."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signature_is_valid(*, secret: str, body: bytes, header: str | None) -> bool:
    """Whether `header` is GitHub's signature of `body`; never true without a secret."""
    if not secret or not header:
        return False
    return hmac.compare_digest(signature_for(secret=secret, body=body), header.strip())
