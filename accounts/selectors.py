from django.contrib.auth.models import User
from django.db.models import QuerySet

from accounts.models import ApiToken


def api_tokens_of(*, user: User) -> QuerySet[ApiToken]:
    """A user's tokens, newest first: active ones, then revoked ones for the record."""
    return ApiToken.objects.filter(user=user).order_by("revoked_at", "-created_at")


def api_token_get_for_user(*, user: User, token_id: int) -> ApiToken | None:
    """One of the user's own tokens; someone else's is as good as absent."""
    return ApiToken.objects.filter(user=user, pk=token_id).first()
