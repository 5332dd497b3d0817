"""GitHub deliveries for the soak, from GitHub's own example payloads (tests/fixtures/github),
each with fresh ids, and the ledger keys each one must add exactly once.

Every event the platform maps (`contrib.github.handlers`, the bot's commands in comments) is
sent. No locust here: `benchmarks/soak.py` imports this too, and locust patches the standard
library when it is imported.
"""

import copy
import itertools
import json
import random
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "github"
Json = dict[str, Any]

TEMPLATES = {
    "push": "push.event",
    "pull_request.opened": "pull_request.opened",
    "pull_request.closed": "pull_request.closed",
    "pull_request_review": "pull_request_review.submitted",
    "pull_request_review_comment": "pull_request_review_comment.created",
    "issues": "issues.opened",
    "issue_comment": "issue_comment.created",
    "discussion": "discussion.created",
    "discussion_comment": "discussion_comment.created",
    "gollum": "gollum.event",
    "release": "release.published",
    "sponsorship": "sponsorship.created",
    "installation": "installation.created",
    "installation_repositories": "installation_repositories.added",
}
# How often each kind is sent, relative to the others (GitHub's traffic is mostly pull requests,
# issues, comments and pushes).
WEIGHTS = {
    "push": 6,
    "pull_request": 6,
    "pull_request_review": 3,
    "pull_request_review_comment": 3,
    "issues": 5,
    "issue_comment": 6,
    "bot_command": 2,
    "discussion": 2,
    "discussion_comment": 2,
    "gollum": 1,
    "release": 1,
    "sponsorship": 1,
    "installation": 1,
    "installation_repositories": 1,
}


@dataclass
class Delivery:
    event: str
    delivery_id: str
    body: bytes
    expect: list[str] = field(default_factory=list)  # ledger keys it must add
    bot_comment: int | None = None  # a comment with a bot command: one reply is due


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Deliveries:
    """Makes deliveries for one repository: `REPOSITORY` (tracked by the soak's set-up) and a
    pool of people; bot commands come from `maintainer` on the issues listed in `bot_issues`."""

    def __init__(self, *, repository: Json, people: list[Json], maintainer: Json,
                 bot_issues: list[int], bot_name: str, seed: int) -> None:  # fmt: skip
        self.templates = {
            key: json.loads((FIXTURES / f"{name}.json").read_text())
            for key, name in TEMPLATES.items()
        }
        self.repository, self.people, self.maintainer = repository, people, maintainer
        self.bot_issues, self.bot_name = bot_issues, bot_name
        self.random = random.Random(seed)
        self.ids = itertools.count(7_000_000_000 + seed % 1_000_000 * 100_000)
        # Issue and pull request numbers are small (a repository's count); each sender its own.
        self.numbers = itertools.count(1_000_000 + seed % 20_000 * 100_000)
        self.sent_ids = itertools.count(1)
        self.prefix = f"soak-{seed}"

    def _id(self) -> int:
        return next(self.ids)

    def _number(self) -> int:
        return next(self.numbers)

    def _person(self) -> Json:
        return self.random.choice(self.people)

    def _base(self, key: str) -> Json:
        payload = copy.deepcopy(self.templates[key])
        payload.pop("installation", None)
        payload.pop("organization", None)
        if "repository" in payload:
            payload["repository"] = copy.deepcopy(self.repository)
        payload["sender"] = self._person()
        return payload

    def _delivery(self, event: str, payload: Json, expect: list[str], **extra: Any) -> Delivery:
        delivery_id = f"{self.prefix}-{next(self.sent_ids)}-{secrets.token_hex(4)}"
        body = json.dumps(payload).encode()
        return Delivery(event, delivery_id, body, expect, **extra)

    def pick(self) -> list[Delivery]:
        """The next delivery, or a pair sent out of order (a PR's merge before its opening)."""
        kind = self.random.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
        return getattr(self, kind)()

    # --- one method per kind ----------------------------------------------------------------
    def push(self) -> list[Delivery]:
        payload = self._base("push")
        sha = secrets.token_hex(20)
        person = payload["sender"]
        commit = copy.deepcopy(payload["commits"][0]) if payload.get("commits") else {}
        commit.update(
            id=sha,
            timestamp=now(),
            message=f"Soak commit {sha[:7]}",
            author={
                "name": person["login"],
                "email": f"{person['login']}@users.noreply.github.com",
                "username": person["login"],
            },
            added=["src/model.py"],
            modified=[],
            removed=[],
        )
        payload.update(commits=[commit], head_commit=commit, after=sha)
        return [self._delivery("push", payload, [f"commit:{self.repository['id']}:{sha}"])]

    def _pull(self, key: str, number: int, pr_id: int, author: Json) -> Json:
        payload = self._base(key)
        pr = payload["pull_request"]
        pr.update(id=pr_id, number=number, user=author, updated_at=now())
        payload["number"] = number
        return payload

    def pull_request(self) -> list[Delivery]:
        number, pr_id, author = self._number(), self._id(), self._person()
        opened = self._pull("pull_request.opened", number, pr_id, author)
        closed = self._pull("pull_request.closed", number, pr_id, author)
        closed["pull_request"].update(merged=True, merged_at=now(), state="closed")
        pair = [
            self._delivery("pull_request", opened, []),
            self._delivery("pull_request", closed, [f"pr-merged:{pr_id}"]),
        ]
        return pair[::-1] if self.random.random() < 0.3 else pair  # some out of order

    def pull_request_review(self) -> list[Delivery]:
        payload = self._pull("pull_request_review", self._number(), self._id(), self._person())
        review_id = self._id()
        payload["review"].update(id=review_id, user=payload["sender"], submitted_at=now())
        return [self._delivery("pull_request_review", payload, [f"review:{review_id}"])]

    def pull_request_review_comment(self) -> list[Delivery]:
        payload = self._pull(
            "pull_request_review_comment", self._number(), self._id(), self._person()
        )
        comment_id = self._id()
        payload["comment"].update(id=comment_id, user=payload["sender"], created_at=now())
        return [
            self._delivery("pull_request_review_comment", payload, [f"review-comment:{comment_id}"])
        ]

    def issues(self) -> list[Delivery]:
        payload = self._base("issues")
        issue_id = self._id()
        payload["issue"].update(
            id=issue_id, number=self._number(), user=payload["sender"], created_at=now()
        )
        return [self._delivery("issues", payload, [f"issue-opened:{issue_id}"])]

    def _comment(self, *, number: int, user: Json, body: str) -> tuple[Json, int]:
        payload = self._base("issue_comment")
        payload["sender"] = user
        comment_id = self._id()
        payload["issue"].update(id=self._id(), number=number)
        payload["issue"].pop("pull_request", None)
        payload["comment"].update(id=comment_id, user=user, body=body, created_at=now())
        return payload, comment_id

    def issue_comment(self) -> list[Delivery]:
        payload, comment_id = self._comment(
            number=self._number(), user=self._person(), body="Looks good to me."
        )
        return [self._delivery("issue_comment", payload, [f"issue-comment:{comment_id}"])]

    def bot_command(self) -> list[Delivery]:
        who = self._person()["login"]
        payload, comment_id = self._comment(
            number=self.random.choice(self.bot_issues),
            user=self.maintainer,
            body=f"@{self.bot_name} please add @{who} for ideas",
        )
        return [
            self._delivery(
                "issue_comment", payload, [f"issue-comment:{comment_id}"], bot_comment=comment_id
            )
        ]

    def discussion(self) -> list[Delivery]:
        payload = self._base("discussion")
        discussion_id = self._id()
        payload["discussion"].update(
            id=discussion_id, number=self._number(), user=payload["sender"], created_at=now()
        )
        return [self._delivery("discussion", payload, [f"discussion:{discussion_id}"])]

    def discussion_comment(self) -> list[Delivery]:
        payload = self._base("discussion_comment")
        comment_id = self._id()
        payload["comment"].update(id=comment_id, user=payload["sender"], created_at=now())
        return [self._delivery("discussion_comment", payload, [f"discussion-comment:{comment_id}"])]

    def gollum(self) -> list[Delivery]:
        payload = self._base("gollum")
        page, sha = f"Soak-page-{self._id()}", secrets.token_hex(20)
        payload["pages"] = [
            {**payload["pages"][0], "page_name": page, "title": page, "sha": sha,
             "action": "edited"}
        ]  # fmt: skip
        return [self._delivery("gollum", payload, [f"wiki:{self.repository['id']}:{page}:{sha}"])]

    def release(self) -> list[Delivery]:
        payload = self._base("release")
        release_id = self._id()
        payload["release"].update(
            id=release_id, author=payload["sender"], draft=False, published_at=now(),
            tag_name=f"v0.{release_id}",
        )  # fmt: skip
        return [self._delivery("release", payload, [f"release:{release_id}"])]

    def sponsorship(self) -> list[Delivery]:
        payload = self._base("sponsorship")
        node_id = f"SOAK_{secrets.token_hex(8)}"
        payload["sponsorship"].update(
            node_id=node_id, sponsor=payload["sender"], privacy_level="public", created_at=now()
        )
        return [self._delivery("sponsorship", payload, [f"sponsorship:{node_id}"])]

    def _other_repository(self) -> Json:
        repo_id = self._id()
        return {"id": repo_id, "node_id": f"R_{repo_id}", "name": f"side-{repo_id}",
                "full_name": f"soak-org/side-{repo_id}", "private": False}  # fmt: skip

    def installation(self) -> list[Delivery]:
        payload = self._base("installation")
        payload["installation"] = {**self.templates["installation"]["installation"],
                                   "id": self._id()}  # fmt: skip
        payload["repositories"] = [self._other_repository()]
        return [self._delivery("installation", payload, [])]

    def installation_repositories(self) -> list[Delivery]:
        payload = self._base("installation_repositories")
        payload["installation"] = {**self.templates["installation_repositories"]["installation"],
                                   "id": self._id()}  # fmt: skip
        payload["repositories_added"] = [self._other_repository()]
        payload["repositories_removed"] = []
        return [self._delivery("installation_repositories", payload, [])]
