"""A synthetic repository on the fake GitHub, and the webhook deliveries that describe it.

The same facts two ways: as REST data for the backfill, and as the deliveries GitHub would have
sent while they happened. Tests compare the ledgers they produce; the benchmark uses the builder.
"""

import copy
import random
from typing import Any

from tests.github_server.server import FakeGitHub, Json

PEOPLE = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]


def build_repository(
    fake: FakeGitHub,
    full_name: str = "acme/model",
    *,
    issues: int = 12,
    pulls: int = 12,
    commits: int = 6,
    seed: int = 7,
) -> None:
    """Issues with comments, PRs (half merged) with reviews, review and conversation comments,
    commits by known accounts, by email only, and docs-only ones; a bot comments too."""
    rng = random.Random(seed)
    fake.repo(full_name)
    for index in range(max(issues, pulls)):
        if index < issues:
            author = rng.choice(PEOPLE)
            issue = fake.issue(full_name, user=author, title=f"Bug {index}", labels=("bug",))
            for _ in range(rng.randint(0, 3)):
                fake.comment(full_name, issue["number"], user=rng.choice(PEOPLE))
        if index < pulls:
            author = rng.choice(PEOPLE)
            pull = fake.pull(full_name, user=author, title=f"Change {index}")
            number = pull["number"]
            for _ in range(rng.randint(0, 2)):
                fake.review(full_name, number, user=rng.choice(PEOPLE), state="COMMENTED")
                fake.review_comment(full_name, number, user=rng.choice(PEOPLE))
            if rng.random() < 0.3:
                fake.review(full_name, number, user=rng.choice(PEOPLE), state="PENDING")
            fake.comment(full_name, number, user=rng.choice(PEOPLE))
            if rng.random() < 0.2:
                fake.comment(full_name, number, user="ci-helper[bot]")
            if index % 2 == 0:
                merge(fake, full_name, number)
    for index in range(commits):
        person = PEOPLE[index % len(PEOPLE)]
        if index % 3 == 0:  # an email GitHub does not know
            fake.commit(full_name, name=f"Visitor {index}", email=f"visitor{index}@example.org")
        elif index % 3 == 1:
            fake.commit(full_name, name=person.title(), email=f"{person}@example.org", user=person)
        else:
            fake.commit(
                full_name,
                name=person.title(),
                email=f"{person}@example.org",
                user=person,
                files=("docs/index.md", "README.md"),
                message="Docs: explain things",
            )


def merge(fake: FakeGitHub, full_name: str, number: int) -> None:
    state = fake.repos[full_name]
    with fake.lock:
        when = fake.tick()
        pull, issue = state.pulls[number], state.issues[number]
        pull.update(state="closed", merged_at=when, closed_at=when, updated_at=when)
        issue.update(state="closed", closed_at=when, updated_at=when)
        issue["pull_request"]["merged_at"] = when


def webhook_deliveries(fake: FakeGitHub, full_name: str = "acme/model") -> list[tuple[str, Json]]:
    """(event, payload) pairs GitHub would have delivered for everything in the repository."""
    state = fake.repos[full_name]
    repo = state.repo
    deliveries: list[tuple[str, Json]] = []

    def event(name: str, payload: Json) -> None:
        deliveries.append((name, copy.deepcopy({**payload, "repository": repo})))

    for number, issue in sorted(state.issues.items()):
        pull = state.pulls.get(number)
        if pull is None:
            event("issues", {"action": "opened", "issue": issue, "sender": issue["user"]})
        else:
            action = "closed" if pull["merged_at"] else "opened"
            event(
                "pull_request",
                {"action": action, "pull_request": {**pull, "merged": bool(pull["merged_at"])}},
            )
            for review in state.reviews.get(number, []):
                if review["state"] != "PENDING":
                    event(
                        "pull_request_review",
                        {"action": "submitted", "review": review, "pull_request": pull},
                    )
    for comment in state.issue_comments.values():
        number = int(comment["issue_url"].rsplit("/", 1)[1])
        event(
            "issue_comment",
            {"action": "created", "issue": state.issues[number], "comment": comment},
        )
    for comment in state.review_comments.values():
        number = int(comment["pull_request_url"].rsplit("/", 1)[1])
        event(
            "pull_request_review_comment",
            {"action": "created", "comment": comment, "pull_request": state.pulls[number]},
        )
    commits: list[Json] = []
    for commit in reversed(state.commits):  # a push lists oldest first
        git = commit["commit"]
        author: dict[str, Any] = {"name": git["author"]["name"], "email": git["author"]["email"]}
        if commit["author"]:
            author["username"] = commit["author"]["login"]
        files = [f["filename"] for f in state.commit_files[commit["sha"]]]
        commits.append(
            {
                "id": commit["sha"],
                "message": git["message"],
                "timestamp": git["author"]["date"],
                "url": commit["html_url"],
                "author": author,
                "committer": author,
                "added": [],
                "modified": files,
                "removed": [],
            }
        )
    if commits:
        event("push", {"ref": f"refs/heads/{repo['default_branch']}", "commits": commits})
    return deliveries
