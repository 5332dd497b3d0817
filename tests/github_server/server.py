"""A small GitHub-compatible REST server on loopback, for PyGithub to talk to over real HTTP.

It speaks the subset the platform uses, with GitHub's JSON shapes, `Link` pagination, `since`,
`X-RateLimit-*` headers, redirects for archives, and it records every request and every write so
that tests assert on what was sent. Failures can be injected: one secondary-rate-limit 403, a
502, or a spent primary limit.

The API root is `<url>/api/v3`, as on GitHub Enterprise, so the platform's `GITHUB_API_URL`
prefix handling is exercised too.
"""

import base64
import gzip
import hashlib
import io
import itertools
import json
import re
import tarfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Json = dict[str, Any]
Reply = tuple[int, Any, dict[str, str]]  # status, JSON (or bytes), extra headers

SECONDARY_LIMIT_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    authorization: str


@dataclass
class Injected:
    kind: str  # "secondary" | "502"
    method: str | None
    path_contains: str | None
    count: int


@dataclass
class RepoState:
    repo: Json
    issues: dict[int, Json] = field(default_factory=dict)  # issues and PRs, by number
    pulls: dict[int, Json] = field(default_factory=dict)
    issue_comments: dict[int, Json] = field(default_factory=dict)
    reviews: dict[int, list[Json]] = field(default_factory=dict)  # by PR number
    review_comments: dict[int, Json] = field(default_factory=dict)
    commits: list[Json] = field(default_factory=list)  # newest first, as GitHub lists them
    commit_files: dict[str, list[Json]] = field(default_factory=dict)
    statuses: list[Json] = field(default_factory=list)
    check_runs: dict[int, Json] = field(default_factory=dict)
    hooks: dict[int, Json] = field(default_factory=dict)
    permissions: dict[str, str] = field(default_factory=dict)
    archives: dict[str, bytes] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)  # name -> head commit sha
    files: dict[tuple[str, str], str] = field(default_factory=dict)  # (branch, path) -> text


class FakeGitHub:
    """State and behaviour of the fake; `url`/`api_url` once started."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.ids = itertools.count(1_000_001)
        self.users: dict[str, Json] = {}
        self.repos: dict[str, RepoState] = {}
        self.requests: list[Request] = []
        self.injected: list[Injected] = []
        self.rate_limit = 5000
        self.rate_remaining = 5000
        self.rate_reset = int(time.time()) + 3600
        self.tokens = {"test-token"}
        # The OAuth web flow ("Sign in with GitHub"): registered apps, the person signed in to
        # this GitHub in the browser (who approves at once), codes and user tokens issued.
        self.oauth_apps: dict[str, str] = {}  # client id -> secret
        self.oauth_user = ""
        self.oauth_codes: dict[str, tuple[str, str]] = {}  # code -> (login, client id)
        self.user_tokens: dict[str, str] = {}  # user access token -> login
        self.pull_files: dict[tuple[str, int], list[Json]] = {}
        self.installation_tokens: dict[str, int] = {}  # token -> installation id
        self.jwt_verifier: Callable[[str], bool] = lambda _jwt: True
        # History starts a month ago, so that "since the last sync" means something.
        self.clock = datetime.now(UTC).replace(microsecond=0) - timedelta(days=30)
        self.url = ""
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v3"

    def start(self) -> "FakeGitHub":
        fake = self

        class Handler(_Handler):
            github = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # --- what tests read --------------------------------------------------------------------
    def writes(self) -> list[Request]:
        return [r for r in self.requests if r.method in ("POST", "PATCH", "PUT", "DELETE")]

    def gets(self, path_contains: str = "") -> list[Request]:
        return [r for r in self.requests if r.method == "GET" and path_contains in r.path]

    def api_path(self, path: str) -> str:
        return f"/api/v3{path}"

    # --- failure injection ------------------------------------------------------------------
    def fail_next(
        self,
        kind: str = "502",
        *,
        method: str | None = None,
        path_contains: str | None = None,
        count: int = 1,
    ) -> None:
        """The next matching request(s) get a secondary-limit 403 (`secondary`), a 502 (`502`),
        or are carried out and then answered 502 (`502-after`: the answer lost on its way)."""
        with self.lock:
            self.injected.append(Injected(kind, method, path_contains, count))

    def fail_clear(self) -> None:
        """Answer normally again (ends `fail_next` with a large count: a failure held for a
        while)."""
        with self.lock:
            self.injected.clear()

    # --- data -------------------------------------------------------------------------------
    def tick(self, seconds: int = 60) -> str:
        self.clock += timedelta(seconds=seconds)
        return iso(self.clock) or ""

    def catch_up(self) -> None:
        """Move the fake's clock to now: what happens next happens after any sync so far."""
        self.clock = max(self.clock, datetime.now(UTC).replace(microsecond=0))

    def user(self, login: str, *, user_id: int | None = None, user_type: str = "User") -> Json:
        with self.lock:
            if login not in self.users:
                uid = user_id or next(self.ids)
                base = f"{self.api_url}/users/{login}"
                self.users[login] = {
                    "login": login,
                    "id": uid,
                    "node_id": f"U_{uid}",
                    "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4",
                    "gravatar_id": "",
                    "url": base,
                    "html_url": f"https://github.com/{login}",
                    "followers_url": f"{base}/followers",
                    "repos_url": f"{base}/repos",
                    "type": user_type,
                    "site_admin": False,
                }
            return dict(self.users[login])

    def repo(self, full_name: str, *, repo_id: int | None = None, default_branch: str = "main"):  # type: ignore[no-untyped-def]
        owner, name = full_name.split("/")
        with self.lock:
            if full_name not in self.repos:
                rid = repo_id or next(self.ids)
                base = f"{self.api_url}/repos/{full_name}"
                self.repos[full_name] = RepoState(
                    repo={
                        "id": rid,
                        "node_id": f"R_{rid}",
                        "name": name,
                        "full_name": full_name,
                        "private": False,
                        "owner": self.user(owner, user_type="Organization"),
                        "html_url": f"https://github.com/{full_name}",
                        "description": "",
                        "fork": False,
                        "url": base,
                        "hooks_url": f"{base}/hooks",
                        "issues_url": f"{base}/issues{{/number}}",
                        "pulls_url": f"{base}/pulls{{/number}}",
                        "statuses_url": f"{base}/statuses/{{sha}}",
                        "archive_url": f"{base}/{{archive_format}}{{/ref}}",
                        "created_at": "2020-01-01T00:00:00Z",
                        "updated_at": "2024-01-01T00:00:00Z",
                        "pushed_at": "2024-01-01T00:00:00Z",
                        "default_branch": default_branch,
                        "archived": False,
                        "has_issues": True,
                    }
                )
            return self.repos[full_name]

    def issue(
        self,
        full_name: str,
        *,
        user: str,
        title: str = "An issue",
        labels: tuple[str, ...] = (),
        state: str = "open",
        at: str | None = None,
    ) -> Json:
        """A new issue, created (and last updated) at `at` or the fake's clock."""
        state_ = self.repo(full_name)
        with self.lock:
            number = len(state_.issues) + 1
            created = at or self.tick()
            base = f"{self.api_url}/repos/{full_name}"
            issue = {
                "url": f"{base}/issues/{number}",
                "repository_url": base,
                "comments_url": f"{base}/issues/{number}/comments",
                "html_url": f"https://github.com/{full_name}/issues/{number}",
                "id": next(self.ids),
                "node_id": f"I_{number}",
                "number": number,
                "title": title,
                "user": self.user(user),
                "labels": [{"id": next(self.ids), "name": n, "color": "ededed"} for n in labels],
                "state": state,
                "locked": False,
                "assignee": None,
                "assignees": [],
                "milestone": None,
                "comments": 0,
                "created_at": created,
                "updated_at": created,
                "closed_at": created if state == "closed" else None,
                "author_association": "CONTRIBUTOR",
                "body": "",
            }
            state_.issues[number] = issue
            return issue

    def pull(
        self,
        full_name: str,
        *,
        user: str,
        title: str = "A change",
        merged: bool = False,
        head_sha: str | None = None,
        at: str | None = None,
    ) -> Json:
        """A new pull request (and its issue twin, as GitHub keeps one number space)."""
        issue = self.issue(full_name, user=user, title=title, at=at)
        state_ = self.repos[full_name]
        with self.lock:
            number = issue["number"]
            base = f"{self.api_url}/repos/{full_name}"
            created = issue["created_at"]
            merged_at = self.tick() if merged else None
            sha = head_sha or f"{next(self.ids):040x}"
            issue["pull_request"] = {
                "url": f"{base}/pulls/{number}",
                "html_url": f"https://github.com/{full_name}/pull/{number}",
                "diff_url": f"https://github.com/{full_name}/pull/{number}.diff",
                "patch_url": f"https://github.com/{full_name}/pull/{number}.patch",
                "merged_at": merged_at,
            }
            issue["html_url"] = f"https://github.com/{full_name}/pull/{number}"
            if merged:
                issue.update(state="closed", closed_at=merged_at, updated_at=merged_at)
            pull = {
                "url": f"{base}/pulls/{number}",
                "id": next(self.ids),
                "node_id": f"PR_{number}",
                "html_url": issue["html_url"],
                "issue_url": issue["url"],
                "number": number,
                "state": issue["state"],
                "locked": False,
                "title": title,
                "user": self.user(user),
                "body": "",
                "created_at": created,
                "updated_at": issue["updated_at"],
                "closed_at": issue["closed_at"],
                "merged_at": merged_at,
                "merge_commit_sha": f"{next(self.ids):040x}" if merged else None,
                "assignee": None,
                "assignees": [],
                "requested_reviewers": [],
                "labels": [],
                "milestone": None,
                "draft": False,
                "head": {
                    "label": f"{user}:change-{number}",
                    "ref": f"change-{number}",
                    "sha": sha,
                    "user": self.user(user),
                    "repo": state_.repo,
                },
                "base": {
                    "label": f"{full_name.split('/')[0]}:main",
                    "ref": state_.repo["default_branch"],
                    "sha": f"{next(self.ids):040x}",
                    "user": state_.repo["owner"],
                    "repo": state_.repo,
                },
                "author_association": "CONTRIBUTOR",
            }
            state_.pulls[number] = pull
            return pull

    def _touch(self, state_: RepoState, number: int, when: str) -> None:
        state_.issues[number]["updated_at"] = when
        if number in state_.pulls:
            state_.pulls[number]["updated_at"] = when

    def comment(self, full_name: str, number: int, *, user: str, body: str = "Thanks!") -> Json:
        """An issue comment (on an issue or a PR's conversation), as GitHub stores it."""
        state_ = self.repos[full_name]
        with self.lock:
            when = self.tick()
            comment = self._new_comment(full_name, number, user=self.user(user), body=body, at=when)
            state_.issue_comments[comment["id"]] = comment
            state_.issues[number]["comments"] += 1
            self._touch(state_, number, when)
            return comment

    def _new_comment(self, full_name: str, number: int, *, user: Json, body: str, at: str) -> Json:
        cid = next(self.ids)
        base = f"{self.api_url}/repos/{full_name}"
        kind = "pull" if number in self.repos[full_name].pulls else "issues"
        return {
            "url": f"{base}/issues/comments/{cid}",
            "html_url": f"https://github.com/{full_name}/{kind}/{number}#issuecomment-{cid}",
            "issue_url": f"{base}/issues/{number}",
            "id": cid,
            "node_id": f"IC_{cid}",
            "user": user,
            "created_at": at,
            "updated_at": at,
            "author_association": "CONTRIBUTOR",
            "body": body,
        }

    def review(
        self, full_name: str, number: int, *, user: str, state: str = "APPROVED", body: str = ""
    ) -> Json:
        state_ = self.repos[full_name]
        with self.lock:
            when = self.tick()
            rid = next(self.ids)
            base = f"{self.api_url}/repos/{full_name}"
            review = {
                "id": rid,
                "node_id": f"PRR_{rid}",
                "user": self.user(user),
                "body": body,
                "state": state,
                "html_url": f"https://github.com/{full_name}/pull/{number}#pullrequestreview-{rid}",
                "pull_request_url": f"{base}/pulls/{number}",
                "submitted_at": None if state == "PENDING" else when,
                "commit_id": state_.pulls[number]["head"]["sha"],
                "author_association": "CONTRIBUTOR",
            }
            state_.reviews.setdefault(number, []).append(review)
            if state != "PENDING":
                self._touch(state_, number, when)
            return review

    def review_comment(
        self, full_name: str, number: int, *, user: str, body: str = "nit", path: str = "a.py"
    ) -> Json:
        state_ = self.repos[full_name]
        with self.lock:
            when = self.tick()
            cid = next(self.ids)
            base = f"{self.api_url}/repos/{full_name}"
            comment = {
                "url": f"{base}/pulls/comments/{cid}",
                "pull_request_review_id": None,
                "id": cid,
                "node_id": f"PRRC_{cid}",
                "diff_hunk": "@@ -1 +1 @@",
                "path": path,
                "commit_id": state_.pulls[number]["head"]["sha"],
                "user": self.user(user),
                "body": body,
                "created_at": when,
                "updated_at": when,
                "html_url": f"https://github.com/{full_name}/pull/{number}#discussion_r{cid}",
                "pull_request_url": f"{base}/pulls/{number}",
                "author_association": "CONTRIBUTOR",
            }
            state_.review_comments[cid] = comment
            self._touch(state_, number, when)
            return comment

    def commit(
        self,
        full_name: str,
        *,
        name: str,
        email: str,
        user: str | None = None,
        message: str = "Change things",
        files: tuple[str, ...] = ("src/model.py",),
        sha: str | None = None,
    ) -> Json:
        """A commit on the default branch; `user` is the GitHub account GitHub matched, if any."""
        state_ = self.repos[full_name]
        with self.lock:
            when = self.tick()
            sha = sha or f"{next(self.ids):040x}"
            base = f"{self.api_url}/repos/{full_name}"
            person = {"name": name, "email": email, "date": when}
            account = self.user(user) if user else None
            commit = {
                "sha": sha,
                "node_id": f"C_{sha[:8]}",
                "commit": {
                    "author": person,
                    "committer": person,
                    "message": message,
                    "tree": {"sha": "0" * 40, "url": f"{base}/git/trees/{'0' * 40}"},
                    "url": f"{base}/git/commits/{sha}",
                    "comment_count": 0,
                },
                "url": f"{base}/commits/{sha}",
                "html_url": f"https://github.com/{full_name}/commit/{sha}",
                "comments_url": f"{base}/commits/{sha}/comments",
                "author": account,
                "committer": account,
                "parents": [{"sha": c["sha"]} for c in state_.commits[:1]],
            }
            state_.commits.insert(0, commit)
            state_.commit_files[sha] = [
                {"sha": "0" * 40, "filename": path, "status": "modified", "additions": 1,
                 "deletions": 0, "changes": 1}
                for path in files
            ]  # fmt: skip
            return commit

    def set_permission(self, full_name: str, login: str, permission: str) -> None:
        self.repo(full_name).permissions[login] = permission

    def set_archive(self, full_name: str, ref: str, files: dict[str, bytes]) -> None:
        """A tarball GitHub would serve for `ref`, with its `<repo>-<sha>/` top folder."""
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            top = f"{full_name.replace('/', '-')}-{ref[:7]}"
            for name, content in files.items():
                info = tarfile.TarInfo(f"{top}/{name}")
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
        self.repo(full_name).archives[ref] = gzip.compress(buffer.getvalue())

    # --- routing ----------------------------------------------------------------------------
    def handle(self, method: str, path: str, query: dict[str, str], body: Any) -> Reply:
        prefix = "/api/v3"
        if path.startswith("/_codeload/"):
            return self._download(path)
        if path == "/login/oauth/authorize" and method == "GET":
            return self._oauth_authorize(query)
        if path == "/login/oauth/access_token" and method == "POST":
            return self._oauth_access_token(query, body)
        if not path.startswith(prefix):
            return 404, {"message": "Not Found"}, {}
        path = path[len(prefix) :]
        for pattern, route_method, view in self._routes():
            match = re.fullmatch(pattern, path)
            if match and route_method == method:
                return view(query=query, body=body, **match.groupdict())  # type: ignore[no-any-return]
        return self._not_found()

    def _routes(self) -> list[tuple[str, str, Callable[..., Reply]]]:
        repo = r"/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)"
        return [
            (r"/users/(?P<login>[^/]+)", "GET", self._get_user),
            (r"/user", "GET", self._authenticated_user),
            (r"/user/emails", "GET", self._authenticated_user_emails),
            (r"/app/installations/(?P<iid>\d+)/access_tokens", "POST", self._access_token),
            (r"/rate_limit", "GET", self._rate_limit),
            (repo, "GET", self._get_repo),
            (repo + r"/issues", "GET", self._list_issues),
            (repo + r"/issues/comments", "GET", self._list_repo_issue_comments),
            (repo + r"/issues/comments/(?P<cid>\d+)", "GET", self._get_comment),
            (repo + r"/issues/comments/(?P<cid>\d+)", "PATCH", self._edit_comment),
            (repo + r"/issues/(?P<number>\d+)", "GET", self._get_issue),
            (repo + r"/issues/(?P<number>\d+)/comments", "GET", self._list_issue_comments),
            (repo + r"/issues/(?P<number>\d+)/comments", "POST", self._create_comment),
            (repo + r"/pulls", "GET", self._list_pulls),
            (repo + r"/pulls/comments", "GET", self._list_review_comments),
            (repo + r"/pulls/(?P<number>\d+)", "GET", self._get_pull),
            (repo + r"/pulls/(?P<number>\d+)/files", "GET", self._list_pull_files),
            (repo + r"/pulls/(?P<number>\d+)/reviews", "GET", self._list_reviews),
            (repo + r"/commits", "GET", self._list_commits),
            (repo + r"/commits/(?P<sha>[0-9a-f]+)", "GET", self._get_commit),
            (repo + r"/statuses/(?P<sha>[0-9a-f]+)", "POST", self._create_status),
            (repo + r"/check-runs", "POST", self._create_check_run),
            (repo + r"/check-runs/(?P<rid>\d+)", "PATCH", self._edit_check_run),
            (repo + r"/check-runs/(?P<rid>\d+)", "GET", self._get_check_run),
            (repo + r"/commits/(?P<sha>[0-9a-f]+)/check-runs", "GET", self._list_check_runs),
            (repo + r"/collaborators/(?P<login>[^/]+)/permission", "GET", self._permission),
            (repo + r"/tarball/(?P<ref>.+)", "GET", self._tarball),
            (repo + r"/hooks", "GET", self._list_hooks),
            (repo + r"/hooks", "POST", self._create_hook),
            (repo + r"/branches/(?P<branch>[^/]+)", "GET", self._get_branch),
            (repo + r"/git/refs", "POST", self._create_ref),
            (repo + r"/contents/(?P<path>.+)", "GET", self._get_contents),
            (repo + r"/contents/(?P<path>.+)", "PUT", self._put_contents),
            (repo + r"/pulls", "POST", self._create_pull),
        ]

    def _state(self, owner: str, name: str) -> RepoState | None:
        return self.repos.get(f"{owner}/{name}")

    @staticmethod
    def _not_found() -> Reply:
        return 404, {"message": "Not Found"}, {}

    def _get_user(self, *, login: str, query: Json, body: Any) -> Reply:
        user = self.users.get(login)
        if user is None:
            return self._not_found()
        return 200, {**user, "name": login.title(), "public_repos": 1}, {}

    # --- OAuth web flow (GitHub's "Authorize application" page, approved at once) -------------
    def _oauth_authorize(self, query: dict[str, str]) -> Reply:
        client_id = query.get("client_id", "")
        if client_id not in self.oauth_apps or not self.oauth_user:
            return 404, b"Not Found", {"Content-Type": "text/plain"}
        code = f"code-{next(self.ids)}"
        self.oauth_codes[code] = (self.oauth_user, client_id)
        params = urllib.parse.urlencode({"code": code, "state": query.get("state", "")})
        separator = "&" if "?" in query["redirect_uri"] else "?"
        return 302, b"", {"Location": f"{query['redirect_uri']}{separator}{params}"}

    def _oauth_access_token(self, query: dict[str, str], body: Any) -> Reply:
        form = dict(urllib.parse.parse_qsl(body)) if isinstance(body, str) else dict(body or {})
        form = {**query, **form}
        issued = self.oauth_codes.pop(form.get("code", ""), None)
        client_id = form.get("client_id", "")
        if (
            issued is None
            or issued[1] != client_id
            or self.oauth_apps.get(client_id) != form.get("client_secret")
        ):
            return 200, {"error": "bad_verification_code"}, {}
        token = f"gho_{next(self.ids)}"
        self.user_tokens[token] = issued[0]
        return 200, {"access_token": token, "token_type": "bearer", "scope": "read:user"}, {}

    def _authenticated_user(self, *, query: Json, body: Any) -> Reply:
        login = self.user_tokens.get(self._current_token, "")
        if login not in self.users:
            return 401, {"message": "Requires authentication"}, {}
        return 200, {**self.users[login], "name": login.title(), "email": None}, {}

    def _authenticated_user_emails(self, *, query: Json, body: Any) -> Reply:
        login = self.user_tokens.get(self._current_token, "")
        if login not in self.users:
            return 401, {"message": "Requires authentication"}, {}
        email = f"{login.lower()}@users.example"
        return 200, [{"email": email, "primary": True, "verified": True}], {}

    def _access_token(self, *, iid: str, query: Json, body: Any) -> Reply:
        token = f"ghs_installation_{iid}_{next(self.ids)}"
        self.installation_tokens[token] = int(iid)
        return (
            201,
            {"token": token, "expires_at": "2099-01-01T00:00:00Z", "permissions": {}},
            {},
        )

    def _rate_limit(self, *, query: Json, body: Any) -> Reply:
        core = {
            "limit": self.rate_limit,
            "remaining": self.rate_remaining,
            "reset": self.rate_reset,
            "used": self.rate_limit - self.rate_remaining,
        }
        return 200, {"resources": {"core": core}, "rate": core}, {}

    def _get_repo(self, *, owner: str, name: str, query: Json, body: Any) -> Reply:
        state_ = self._state(owner, name)
        return (200, state_.repo, {}) if state_ else self._not_found()

    @staticmethod
    def _since(items: list[Json], query: Json, key: str = "updated_at") -> list[Json]:
        if "since" not in query:
            return items
        since = parse_iso(query["since"])
        return [item for item in items if parse_iso(item[key]) >= since]

    @staticmethod
    def _sorted(items: list[Json], query: Json, default: str = "created") -> list[Json]:
        key = "updated_at" if query.get("sort", default) == "updated" else "created_at"
        descending = query.get("direction", "desc") == "desc"
        return sorted(items, key=lambda item: (item[key], item["id"]), reverse=descending)

    def _list_issues(self, *, owner: str, name: str, query: Json, body: Any) -> Reply:
        state_ = self._state(owner, name)
        if state_ is None:
            return self._not_found()
        if not state_.repo["has_issues"]:
            return 410, {"message": "Issues are disabled for this repo"}, {}
        items = list(state_.issues.values())
        wanted = query.get("state", "open")
        if wanted != "all":
            items = [i for i in items if i["state"] == wanted]
        return self._page(self._sorted(self._since(items, query), query), query)

    def _list_repo_issue_comments(self, *, owner: str, name: str, query: Json, body: Any) -> Reply:
        state_ = self._state(owner, name)
        if state_ is None:
            return self._not_found()
        items = self._since(list(state_.issue_comments.values()), query)
        return self._page(self._sorted(items, query), query)

    def _get_comment(self, *, owner: str, name: str, cid: str, query: Json, body: Any) -> Reply:
        state_ = self._state(owner, name)
        comment = state_.issue_comments.get(int(cid)) if state_ else None
        return (200, comment, {}) if comment else self._not_found()

    def _edit_comment(self, *, owner: str, name: str, cid: str, query: Json, body: Any) -> Reply:
        state_ = self._state(owner, name)
        comment = state_.issue_comments.get(int(cid)) if state_ else None
        if comment is None:
            return self._not_found()
        comment["body"] = body["body"]
        comment["updated_at"] = self.tick(1)
        return 200, comment, {}

    def _get_issue(self, *, owner: str, name: str, number: str, query: Json, body: Any) -> Reply:
        state_ = self._state(owner, name)
        issue = state_.issues.get(int(number)) if state_ else None
        return (200, issue, {}) if issue else self._not_found()

    def _list_issue_comments(
        self, *, owner: str, name: str, number: str, query: Json, body: Any
    ) -> Reply:
        state_ = self._state(owner, name)
        if state_ is None or int(number) not in state_.issues:
            return self._not_found()
        items = [c for c in state_.issue_comments.values() if c["issue_url"].endswith(f"/{number}")]
        items = sorted(self._since(items, query), key=lambda c: c["id"])  # oldest first
        return self._page(items, query)

    def _create_comment(
        self, *, owner: str, name: str, number: str, query: Json, body: Any
    ) -> Reply:
        state_ = self._state(owner, name)
        if state_ is None or int(number) not in state_.issues:
            return self._not_found()
        if not isinstance(body, dict) or not body.get("body"):
            return 422, {"message": "Validation Failed"}, {}
        bot = self.user("crucible[bot]", user_type="Bot")
        comment = self._new_comment(
            f"{owner}/{name}", int(number), user=bot, body=body["body"], at=self.tick(1)
        )
        state_.issue_comments[comment["id"]] = comment
        return 201, comment, {"Location": comment["url"]}

    def _list_pulls(self, *, owner: str, name: str, query: Json, body: Any) -> Reply:
        state_ = self._state(owner, name)
        if state_ is None:
            return self._not_found()
        items = list(state_.pulls.values())
        wanted = query.get("state", "open")
        if wanted != "all":
            items = [p for p in items if p["state"] == wanted]
        return self._page(self._sorted(items, query), query)  # GitHub has no `since` here

    def _list_review_comments(self, *, owner: str, name: str, query: Json, body: Any) -> Reply:
        state_ = self._state(owner, name)
        if state_ is None:
            return self._not_found()
        items = self._since(list(state_.review_comments.values()), query)
        return self._page(self._sorted(items, query), query)

    def _get_pull(self, *, owner: str, name: str, number: str, query: Json, body: Any) -> Reply:
        state_ = self._state(owner, name)
        pull = state_.pulls.get(int(number)) if state_ else None
        return (200, pull, {}) if pull else self._not_found()

    def _list_reviews(self, *, owner: str, name: str, number: str, query: Json, body: Any) -> Reply:
        state_ = self._state(owner, name)
        if state_ is None or int(number) not in state_.pulls:
            return self._not_found()
        return self._page(list(state_.reviews.get(int(number), [])), query)

    def _list_commits(self, *, owner: str, name: str, query: Json, body: Any) -> Reply:
        state_ = self._state(owner, name)
        if state_ is None:
            return self._not_found()
        items = state_.commits
        if "since" in query:
            since = parse_iso(query["since"])
            items = [c for c in items if parse_iso(c["commit"]["committer"]["date"]) >= since]
        return self._page(items, query)

    def _get_commit(self, *, owner: str, name: str, sha: str, query: Json, body: Any) -> Reply:
        state_ = self._state(owner, name)
        if state_ is None:
            return self._not_found()
        for commit in state_.commits:
            if commit["sha"].startswith(sha):
                files = state_.commit_files.get(commit["sha"], [])
                stats = {"total": len(files), "additions": len(files), "deletions": 0}
                return 200, {**commit, "files": files, "stats": stats}, {}
        return 422, {"message": f"No commit found for SHA: {sha}"}, {}

    def _create_status(self, *, owner: str, name: str, sha: str, query: Json, body: Any) -> Reply:
        state_ = self._state(owner, name)
        if state_ is None:
            return self._not_found()
        if body.get("state") not in ("error", "failure", "pending", "success"):
            return 422, {"message": "Validation Failed"}, {}
        sid = next(self.ids)
        status = {
            "url": f"{self.api_url}/repos/{owner}/{name}/statuses/{sha}",
            "id": sid,
            "node_id": f"SC_{sid}",
            "state": body["state"],
            "description": body.get("description"),
            "target_url": body.get("target_url"),
            "context": body.get("context", "default"),
            "created_at": self.tick(1),
            "updated_at": iso(self.clock),
            "creator": self.user("crucible[bot]", user_type="Bot"),
            "sha": sha,
        }
        state_.statuses.append(status)
        return 201, status, {}

    def _create_check_run(self, *, owner: str, name: str, query: Json, body: Any) -> Reply:
        state_ = self._state(owner, name)
        if state_ is None:
            return self._not_found()
        rid = next(self.ids)
        run = {
            "id": rid,
            "head_sha": body["head_sha"],
            "node_id": f"CR_{rid}",
            "external_id": body.get("external_id", ""),
            "url": f"{self.api_url}/repos/{owner}/{name}/check-runs/{rid}",
            "html_url": f"https://github.com/{owner}/{name}/runs/{rid}",
            "details_url": body.get("details_url"),
            "status": body.get("status", "queued"),
            "conclusion": body.get("conclusion"),
            "started_at": self.tick(1),
            "completed_at": None,
            "output": {"title": None, "summary": None, "text": None, **(body.get("output") or {})},
            "name": body["name"],
            "app": {"id": 1, "slug": "crucible", "name": "Crucible"},
            "pull_requests": [],
        }
        state_.check_runs[rid] = run
        return 201, run, {}

    def _edit_check_run(self, *, owner: str, name: str, rid: str, query: Json, body: Any) -> Reply:
        state_ = self._state(owner, name)
        run = state_.check_runs.get(int(rid)) if state_ else None
        if run is None:
            return self._not_found()
        for key in ("name", "details_url", "status", "conclusion", "external_id"):
            if key in body:
                run[key] = body[key]
        if "output" in body:
            run["output"] = {**run["output"], **body["output"]}
        return 200, run, {}

    def _get_check_run(self, *, owner: str, name: str, rid: str, query: Json, body: Any) -> Reply:
        state_ = self._state(owner, name)
        run = state_.check_runs.get(int(rid)) if state_ else None
        return (200, run, {}) if run else self._not_found()

    def _list_check_runs(self, *, owner: str, name: str, sha: str, query: Json, body: Any) -> Reply:
        state_ = self._state(owner, name)
        if state_ is None:
            return self._not_found()
        runs = [r for r in state_.check_runs.values() if r["head_sha"] == sha]
        if "check_name" in query:
            runs = [r for r in runs if r["name"] == query["check_name"]]
        status, page, headers = self._page(runs, query)
        return status, {"total_count": len(runs), "check_runs": page}, headers

    def _permission(self, *, owner: str, name: str, login: str, query: Json, body: Any) -> Reply:
        state_ = self._state(owner, name)
        if state_ is None:
            return self._not_found()
        permission = state_.permissions.get(login)
        if permission is None:
            if login not in self.users:
                return 404, {"message": f"{login} is not a user"}, {}
            permission = "read"
        role = {"admin": "admin", "maintain": "maintain", "write": "write"}.get(permission, "read")
        shown = "write" if permission == "maintain" else permission  # as GitHub reports it
        return 200, {"permission": shown, "role_name": role, "user": self.user(login)}, {}

    def _tarball(self, *, owner: str, name: str, ref: str, query: Json, body: Any) -> Reply:
        state_ = self._state(owner, name)
        if state_ is None or ref not in state_.archives:
            return self._not_found()
        location = f"{self.url}/_codeload/{owner}/{name}/legacy.tar.gz/{ref}"
        return 302, b"", {"Location": location}

    def _download(self, path: str) -> Reply:
        match = re.fullmatch(r"/_codeload/([^/]+)/([^/]+)/legacy\.tar\.gz/(.+)", path)
        state_ = self._state(match[1], match[2]) if match else None
        if match is None or state_ is None or match[3] not in state_.archives:
            return 404, b"Not Found", {}
        return 200, state_.archives[match[3]], {"Content-Type": "application/x-gzip"}

    def _list_hooks(self, *, owner: str, name: str, query: Json, body: Any) -> Reply:
        state_ = self._state(owner, name)
        return self._page(list(state_.hooks.values()), query) if state_ else self._not_found()

    def _create_hook(self, *, owner: str, name: str, query: Json, body: Any) -> Reply:
        state_ = self._state(owner, name)
        if state_ is None:
            return self._not_found()
        hid = next(self.ids)
        hook = {
            "type": "Repository",
            "id": hid,
            "name": body.get("name", "web"),
            "active": body.get("active", True),
            "events": body.get("events", ["push"]),
            "config": {
                **{k: v for k, v in (body.get("config") or {}).items() if k != "secret"},
                "secret": "********" if (body.get("config") or {}).get("secret") else None,
            },
            "url": f"{self.api_url}/repos/{owner}/{name}/hooks/{hid}",
            "created_at": self.tick(1),
            "updated_at": iso(self.clock),
        }
        state_.hooks[hid] = hook
        return 201, hook, {}

    # --- pagination ---------------------------------------------------------------------------
    # --- files, branches and opening a pull request (what the README wall's PR needs) -------
    def set_pull_files(self, full_name: str, number: int, files: dict[str, str]) -> None:
        """The files a PR changes, `files`: path → GitHub's status (`added`, `modified`,
        `removed`), as `GET /repos/{owner}/{repo}/pulls/{number}/files` lists them."""
        self.pull_files[(full_name, number)] = [
            {"sha": "0" * 40, "filename": path, "status": status, "additions": 1,
             "deletions": 0, "changes": 1}
            for path, status in files.items()
        ]  # fmt: skip

    def _list_pull_files(
        self, *, owner: str, name: str, number: str, query: Json, body: Any
    ) -> Reply:
        files = self.pull_files.get((f"{owner}/{name}", int(number)))
        return self._not_found() if files is None else self._page(list(files), query)

    def file(self, full_name: str, path: str, text: str, *, branch: str | None = None) -> None:
        """Put a file on a branch (the default branch by default)."""
        state_ = self.repo(full_name)
        with self.lock:
            branch = branch or state_.repo["default_branch"]
            state_.branches.setdefault(branch, f"{next(self.ids):040x}")
            state_.files[(branch, path)] = text

    @staticmethod
    def _blob_sha(text: str) -> str:
        data = text.encode()
        return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324 - git's

    def _content_json(self, full_name: str, branch: str, path: str, text: str) -> Json:
        url = f"{self.api_url}/repos/{full_name}/contents/{path}?ref={branch}"
        return {
            "type": "file",
            "encoding": "base64",
            "size": len(text.encode()),
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "content": base64.b64encode(text.encode()).decode(),
            "sha": self._blob_sha(text),
            "url": url,
            "html_url": f"https://github.com/{full_name}/blob/{branch}/{path}",
            "download_url": None,
        }

    def _get_branch(self, *, owner: str, name: str, branch: str, query: Json, body: Any) -> Reply:
        state_ = self._state(owner, name)
        sha = state_.branches.get(branch) if state_ else None
        if sha is None:
            return 404, {"message": "Branch not found"}, {}
        url = f"{self.api_url}/repos/{owner}/{name}/commits/{sha}"
        return 200, {"name": branch, "commit": {"sha": sha, "url": url}, "protected": False}, {}

    def _create_ref(self, *, owner: str, name: str, query: Json, body: Any) -> Reply:
        state_ = self._state(owner, name)
        if state_ is None:
            return self._not_found()
        ref, sha = str(body.get("ref", "")), str(body.get("sha", ""))
        if not ref.startswith("refs/heads/") or sha not in state_.branches.values():
            return 422, {"message": "Reference update failed"}, {}
        branch = ref.removeprefix("refs/heads/")
        with self.lock:
            if branch in state_.branches:
                return 422, {"message": "Reference already exists"}, {}
            source = next(b for b, s in state_.branches.items() if s == sha)
            state_.branches[branch] = sha
            for (on, path), text in list(state_.files.items()):
                if on == source:
                    state_.files[(branch, path)] = text
        url = f"{self.api_url}/repos/{owner}/{name}/git/{ref}"
        return 201, {"ref": ref, "node_id": "REF_1", "url": url,
                     "object": {"sha": sha, "type": "commit", "url": url}}, {}  # fmt: skip

    def _get_contents(self, *, owner: str, name: str, path: str, query: Json, body: Any) -> Reply:
        state_ = self._state(owner, name)
        if state_ is None:
            return self._not_found()
        branch = query.get("ref") or state_.repo["default_branch"]
        text = state_.files.get((branch, path))
        if text is None:
            return self._not_found()
        return 200, self._content_json(f"{owner}/{name}", branch, path, text), {}

    def _put_contents(self, *, owner: str, name: str, path: str, query: Json, body: Any) -> Reply:
        state_ = self._state(owner, name)
        if state_ is None:
            return self._not_found()
        branch = body.get("branch") or state_.repo["default_branch"]
        with self.lock:
            current = state_.files.get((branch, path))
            if current is not None and body.get("sha") != self._blob_sha(current):
                return 409, {"message": f"{path} does not match {body.get('sha')}"}, {}
            text = base64.b64decode(body.get("content", "")).decode()
            state_.files[(branch, path)] = text
            sha = f"{next(self.ids):040x}"
            state_.branches[branch] = sha
        commit = {"sha": sha, "message": body.get("message", ""),
                  "url": f"{self.api_url}/repos/{owner}/{name}/git/commits/{sha}"}  # fmt: skip
        return 200, {"content": self._content_json(f"{owner}/{name}", branch, path, text),
                     "commit": commit}, {}  # fmt: skip

    def _create_pull(self, *, owner: str, name: str, query: Json, body: Any) -> Reply:
        full_name = f"{owner}/{name}"
        state_ = self._state(owner, name)
        if state_ is None:
            return self._not_found()
        head, base = str(body.get("head", "")), str(body.get("base", ""))
        if head not in state_.branches or base not in state_.branches:
            return 422, {"message": "Validation Failed", "errors": [{"field": "head"}]}, {}
        login = self.user_tokens.get(self._current_token, "crucible-bot")
        pull = self.pull(full_name, user=login, title=str(body.get("title", "")),
                         head_sha=state_.branches[head])  # fmt: skip
        with self.lock:
            pull["body"] = str(body.get("body", ""))
            pull["head"].update(ref=head, label=f"{owner}:{head}")
            pull["base"]["ref"] = base
        return 201, pull, {}

    def _page(self, items: list[Json], query: Json) -> Reply:
        per_page = min(int(query.get("per_page", 30)), 100)
        page = max(int(query.get("page", 1)), 1)
        last = max((len(items) + per_page - 1) // per_page, 1)
        chunk = items[(page - 1) * per_page : page * per_page]
        links = []

        def link(number: int, rel: str) -> str:
            params = {**query, "page": str(number), "per_page": str(per_page)}
            return f'<{self._current_url}?{urllib.parse.urlencode(params)}>; rel="{rel}"'

        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        if page > 1:
            links += [link(1, "first"), link(page - 1, "prev")]
        return 200, chunk, ({"Link": ", ".join(links)} if links else {})

    _current_url = ""
    _current_token = ""


class _Handler(BaseHTTPRequestHandler):
    github: FakeGitHub
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, keep-alive requests would each wait
    # for the client's delayed ACK (40 ms).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _respond(self, status: int, payload: Any, headers: dict[str, str]) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        if not isinstance(payload, bytes):
            self.send_header("Content-Type", "application/json; charset=utf-8")
        fake = self.github
        self.send_header("X-RateLimit-Limit", str(fake.rate_limit))
        self.send_header("X-RateLimit-Remaining", str(fake.rate_remaining))
        self.send_header("X-RateLimit-Reset", str(fake.rate_reset))
        self.send_header("X-RateLimit-Used", str(fake.rate_limit - fake.rate_remaining))
        self.send_header("X-RateLimit-Resource", "core")
        self.send_header("X-GitHub-Media-Type", "github.v3; format=json")
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _serve(self, method: str) -> None:
        fake = self.github
        parsed = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parsed.query))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        with fake.lock:
            fake.requests.append(
                Request(method, parsed.path, query, body, self.headers.get("Authorization") or "")
            )
            failure = self._injected(method, parsed.path)
            if failure is not None and failure[0] != "after":
                self._respond(*failure)
                return
            fake._current_token = (self.headers.get("Authorization") or "").partition(" ")[2]
            if not parsed.path.startswith(("/_codeload/", "/login/oauth/")):
                denied = self._check_auth(parsed.path)
                if denied is not None:
                    self._respond(*denied)
                    return
                if fake.rate_remaining <= 0:
                    message = "API rate limit exceeded for installation ID 1."
                    self._respond(403, {"message": message}, {})
                    return
                fake.rate_remaining -= 1
            fake._current_url = f"{fake.url}{parsed.path}"
            status, payload, headers = fake.handle(method, parsed.path, query, body)
        if failure is not None:  # done, but the answer is lost on the way back
            self._respond(502, {"message": "Server Error"}, {})
            return
        self._respond(status, payload, headers)

    def _injected(self, method: str, path: str) -> tuple[Any, Any, dict[str, str]] | None:
        fake = self.github
        for injected in fake.injected:
            if injected.count <= 0:
                continue
            if injected.method and injected.method != method:
                continue
            if injected.path_contains and injected.path_contains not in path:
                continue
            injected.count -= 1
            if injected.kind == "502-after":
                return "after", None, {}
            if injected.kind == "secondary":
                return 403, {"message": SECONDARY_LIMIT_MESSAGE}, {}
            return 502, {"message": "Server Error"}, {}
        return None

    def _check_auth(self, path: str) -> Reply | None:
        fake = self.github
        header = self.headers.get("Authorization") or ""
        scheme, _, credential = header.partition(" ")
        if path.endswith("/access_tokens"):
            if scheme.lower() == "bearer" and fake.jwt_verifier(credential):
                return None
            return 401, {"message": "A JSON web token could not be decoded"}, {}
        if (
            credential in fake.tokens
            or credential in fake.installation_tokens
            or credential in fake.user_tokens
        ):
            return None
        return 401, {"message": "Bad credentials"}, {}

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")
