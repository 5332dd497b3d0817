"""Each person's private feed of their finished submissions (Atom), at an address only they
know: `/feeds/<key>/submissions.atom`, the key a signature of their account that the site alone
can make (shown to them on `/submissions/`)."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, User
from django.contrib.syndication.views import Feed
from django.core import signing
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from evaluation.models import Submission
from evaluation.services.notify import FINISHED, submission_outcome

SALT = "crucible.submission-feed"
ITEMS = 50


def feed_key(user: AbstractBaseUser) -> str:
    return signing.dumps(user.pk, salt=SALT, compress=True)


def feed_url(user: AbstractBaseUser) -> str:
    return reverse("submission-feed", args=[feed_key(user)])


class FinishedSubmissions(Feed):
    feed_type = Atom1Feed
    description_template = None

    def get_object(self, request: HttpRequest, key: str) -> User:
        try:
            user_id = signing.loads(key, salt=SALT)
        except signing.BadSignature:
            raise Http404("no such feed") from None
        user = User.objects.filter(pk=user_id, is_active=True).first()
        if user is None:
            raise Http404("no such feed")
        return user

    def title(self, user: User) -> str:
        return f"Crucible: {user.get_username()}'s finished submissions"

    def link(self, user: User) -> str:
        login = getattr(getattr(user, "contributor", None), "login", "")
        return reverse("submissions") + (f"?contributor={login}" if login else "")

    def subtitle(self, user: User) -> str:
        return "Scored, cut short or failed: each of your submissions once it finishes."

    def items(self, user: User) -> list[Submission]:
        contributor = getattr(user, "contributor", None)
        if contributor is None:
            return []
        return list(
            Submission.objects.filter(contributor=contributor, status__in=FINISHED)
            .select_related("benchmark")
            .order_by("-finished_at", "-pk")[:ITEMS]
        )

    def item_title(self, item: Submission) -> str:
        return submission_outcome(item)[0]

    def item_description(self, item: Submission) -> str:
        return submission_outcome(item)[1]

    def item_link(self, item: Submission) -> str:
        return reverse("submission", args=[item.pk])

    def item_guid(self, item: Submission) -> str:
        return f"crucible-submission-{item.pk}-attempt-{item.attempt}-{item.status}"

    def item_updateddate(self, item: Submission) -> Any:
        return item.finished_at

    def item_pubdate(self, item: Submission) -> Any:
        return item.finished_at
