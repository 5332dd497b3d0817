"""Bot commands in issue and pull request comments: `@crucible please add @login for doc, code`.

All Contributors' grammar and kind names (with aliases such as `docs` or `testing`), for what
GitHub events cannot see: ideas, mentoring, design, talks. Only maintainers (write access to the
repository, asked of GitHub and cached briefly) may use it. The webhook handler only stores the
commands found in a comment and queues them; a task checks permission, records `manual` ledger
rows and answers with one reply comment per command comment (what it did, or why not).

The bot ignores its own comments (they carry a hidden marker), GitHub Apps and other bots.
Other apps add commands with `register_command` from their `AppConfig.ready` (evaluation adds
`evaluate` and `cancel`), so this module never imports them; `evaluate` and `cancel` stay
reserved (not taken for anything else) when no app registered them.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from github import GithubException

from contrib.contributors import contributor_get_or_create_from_github
from contrib.github.answers import bot_reply_sent, bot_reply_set
from contrib.github.client import github_call, github_client, is_transient
from contrib.github.maintainers import maintainer_check
from contrib.github.payloads import tracked_repository
from contrib.github.registry import BOT, Payload, register
from contrib.ledger import contribution_record
from contrib.models import BotCommand, ContributionKind, ContributionSource
from contrib.tasks import run_bot_commands

# All Contributors' contribution types and everyday words, onto the platform's kinds. Kinds the
# ledger has no column for (talks, design, …) land on the nearest one; the word as written is
# kept in the row's metadata.
KIND_ALIASES: dict[str, str] = {
    **{kind.value: kind.value for kind in ContributionKind},
    "docs": "doc",
    "documentation": "doc",
    "tutorial": "doc",
    "tutorials": "doc",
    "blog": "doc",
    "content": "doc",
    "example": "doc",
    "examples": "doc",
    "video": "doc",
    "audio": "doc",
    "talk": "doc",
    "talks": "doc",
    "tests": "test",
    "testing": "test",
    "usertesting": "test",
    "infrastructure": "infra",
    "ci": "infra",
    "platform": "infra",
    "tool": "code",
    "tools": "code",
    "plugin": "code",
    "security": "code",
    "a11y": "code",
    "reviews": "review",
    "bugs": "bug",
    "questions": "question",
    "answers": "question",
    "discussions": "discussion",
    "maintaining": "maintenance",
    "projectmanagement": "maintenance",
    "eventorganizing": "maintenance",
    "translations": "translation",
    "i18n": "translation",
    "mentor": "mentoring",
    "idea": "ideas",
    "design": "ideas",
    "research": "ideas",
    "data": "ideas",
    "financial": "sponsorship",
    "fundingfinding": "sponsorship",
    "funding": "sponsorship",
}

MARKER_PREFIX = "<!-- crucible:"


def _bot_name() -> str:
    return re.escape(settings.GITHUB_BOT_NAME)


def _add_pattern() -> re.Pattern[str]:
    return re.compile(
        rf"^\s*@{_bot_name()}\s+(?:please\s+)?add\s+@?(?P<login>[A-Za-z0-9][A-Za-z0-9-]{{0,38}})"
        rf"\s+for\s+(?P<kinds>.+?)\s*\.?\s*$",
        re.IGNORECASE,
    )


def _mention_pattern() -> re.Pattern[str]:
    return re.compile(rf"^\s*@{_bot_name()}\b\s*(?P<rest>.*)$", re.IGNORECASE)


@dataclass
class AddCommand:
    login: str
    kinds: list[tuple[str, str]]  # (kind, as written)
    unknown: list[str]


def parse_kinds(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """`doc, code and user testing` → ([("doc", "doc"), ("code", "code"), ("test", …)], [])."""
    kinds: list[tuple[str, str]] = []
    unknown: list[str] = []
    for word in re.split(r",|&|\band\b", text, flags=re.IGNORECASE):
        written = word.strip().strip(".").strip()
        if not written:
            continue
        key = re.sub(r"[\s_-]+", "", written.lower())
        kind = KIND_ALIASES.get(key)
        if kind is None:
            unknown.append(written)
        elif kind not in [k for k, _ in kinds]:
            kinds.append((kind, written))
    return kinds, unknown


def parse_command(line: str) -> AddCommand | None:
    """The add command on one line, or None if the line is not one."""
    match = _add_pattern().match(line)
    if match is None:
        return None
    kinds, unknown = parse_kinds(match["kinds"])
    return AddCommand(login=match["login"], kinds=kinds, unknown=unknown)


def command_lines(body: str) -> list[tuple[int, str]]:
    """(line number, text) of every line addressed to the bot, outside code blocks."""
    found = []
    in_code = False
    for number, line in enumerate(body.splitlines()):
        if line.strip().startswith("```"):
            in_code = not in_code
            continue
        if not in_code and _mention_pattern().match(line):
            found.append((number, line.strip()))
    return found


def _is_ignored_author(comment: Payload) -> bool:
    user = comment.get("user") or {}
    login = str(user.get("login") or "")
    return (
        user.get("type") == "Bot"
        or login.lower().endswith("[bot]")
        or MARKER_PREFIX in str(comment.get("body") or "")
    )


# Commands registered by other apps: the first word after `@crucible` → a function that runs the
# stored command and returns the reply text (or raises `CommandRejected` with the reason), and
# optionally which comments it applies to (the others ignore the command, as if unregistered).
CommandHandler = Callable[[BotCommand], str]
CommandApplies = Callable[[Payload], bool]
_commands: dict[str, tuple[CommandHandler, CommandApplies | None]] = {}
RESERVED_COMMANDS = ("evaluate", "cancel")


def register_command(
    name: str, handler: CommandHandler, *, applies: CommandApplies | None = None
) -> None:
    """Let `@crucible NAME …` run `handler(command)` for comments where `applies(payload)` (all
    when None); called from an app's `ready()`."""
    _commands[name.lower()] = (handler, applies)


def _command_word(text: str) -> str:
    match = _mention_pattern().match(text)
    rest = match["rest"] if match else ""
    return rest.split(maxsplit=1)[0].lower() if rest.strip() else ""


def _skipped(rest: str, payload: Payload) -> bool:
    """Commands this comment leaves alone: reserved ones no app registered, and registered ones
    that do not apply here."""
    word = rest.split(maxsplit=1)[0].lower() if rest.strip() else ""
    if word not in _commands:
        return word in RESERVED_COMMANDS
    applies = _commands[word][1]
    return applies is not None and not applies(payload)


@register("issue_comment", order=BOT)
def handle_bot_commands(payload: Payload) -> None:
    """Store the `@crucible` commands of a new comment and queue them; never raises for a comment
    without one (the delivery's other handler has recorded the comment itself)."""
    if payload.get("action") != "created":
        return
    comment = payload.get("comment") or {}
    if _is_ignored_author(comment):
        return
    lines = [
        (number, text)
        for number, text in command_lines(str(comment.get("body") or ""))
        if not _skipped(_mention_pattern().match(text)["rest"], payload)  # type: ignore[index]
    ]
    if not lines:
        return
    repository = tracked_repository(payload)  # an untracked repository runs no commands
    user = comment.get("user") or {}
    for number, text in lines:
        try:
            with transaction.atomic():
                BotCommand.objects.get_or_create(
                    comment_id=int(comment["id"]),
                    line=number,
                    defaults={
                        "repository": repository,
                        "number": int(payload["issue"]["number"]),
                        "author_login": str(user.get("login") or ""),
                        "author_github_id": user.get("id"),
                        "command": text[:500],
                        "comment_url": str(comment.get("html_url") or ""),
                    },
                )
        except IntegrityError:
            continue  # the same delivery processed twice at once: the other one has it
    comment_id = int(comment["id"])

    def enqueue() -> None:
        run_bot_commands.delay(comment_id)

    transaction.on_commit(enqueue)


# --- running them ---------------------------------------------------------------------------


class CommandRejected(Exception):  # noqa: N818 - the outcome, said to the commenter
    pass


def _valid_kinds_text() -> str:
    return ", ".join(f"`{kind.value}`" for kind in ContributionKind)


def _run_add(command: BotCommand) -> str:
    parsed = parse_command(command.command)
    bot = settings.GITHUB_BOT_NAME
    if parsed is None:
        raise CommandRejected(
            f"I did not understand `{command.command}`. I know "
            f"`@{bot} please add @login for doc, code` (kinds separated by commas or `and`)."
        )
    if not maintainer_check(repository=command.repository, login=command.author_login):
        raise CommandRejected(
            f"@{command.author_login}, only maintainers (write access to "
            f"{command.repository.full_name}) can add contributions."
        )
    if parsed.unknown or not parsed.kinds:
        unknown = ", ".join(f"`{word}`" for word in parsed.unknown) or "none given"
        raise CommandRejected(
            f"Unknown contribution kind ({unknown}). Valid kinds: {_valid_kinds_text()}; "
            "All Contributors' names work too (e.g. `docs`, `testing`, `design`, `talk`)."
        )
    gh = github_client(repository=command.repository)
    try:
        with github_call():
            user = gh.get_user(parsed.login)
            account = {
                "id": user.id,
                "login": user.login,
                "type": user.type,
                "avatar_url": user.avatar_url,
            }
    except GithubException as exc:
        if exc.status == 404:
            raise CommandRejected(f"There is no GitHub user @{parsed.login}.") from exc
        raise
    contributor = contributor_get_or_create_from_github(user=account)
    added = []
    for kind, written in parsed.kinds:
        _row, created = contribution_record(
            contributor=contributor,
            kind=kind,
            occurred_at=command.created_at,
            source=ContributionSource.MANUAL,
            external_id=f"bot:{command.comment_id}:{command.line}:{kind}",
            repository=command.repository,
            title=f"{ContributionKind(kind).label} (added by @{command.author_login} "
            f"on #{command.number})",
            url=command.comment_url,
            metadata={
                "added_by": command.author_login,
                "as_written": written,
                "comment_id": command.comment_id,
            },
        )
        added.append(f"`{kind}`" + ("" if created else " (already recorded)"))
    return f"Added @{account['login']} for {', '.join(added)}. Thank you!"


def bot_commands_run(*, comment_id: int) -> list[str]:
    """Run the pending commands of one comment and answer with one reply; returns the states.

    Safe to run again, even twice at once (a message delivered twice, the periodic requeue):
    done commands keep their result, ledger rows have keys, and the reply is one answer, edited,
    never posted twice. A transient GitHub error re-raises with the command still pending, for
    the task to retry. No transaction is held while GitHub is asked.
    """
    commands = list(
        BotCommand.objects.filter(comment_id=comment_id)
        .select_related("repository")
        .order_by("line")
    )
    processed = False
    for command in commands:
        if command.state != BotCommand.State.PENDING:
            continue
        processed = True
        try:
            handler = _commands.get(_command_word(command.command), (_run_add, None))[0]
            command.result = handler(command)
            command.state = BotCommand.State.DONE
        except CommandRejected as rejected:
            command.result = str(rejected)
            command.state = BotCommand.State.REJECTED
        except Exception as exc:
            if is_transient(exc):
                raise
            command.result = f"Something went wrong on the platform's side ({type(exc).__name__})."
            command.state = BotCommand.State.FAILED
        command.processed_at = timezone.now()
        command.save(update_fields=["result", "state", "processed_at"])
    if commands and (
        processed or not bot_reply_sent(repository=commands[0].repository, comment_id=comment_id)
    ):
        first = commands[0]
        bot_reply_set(
            repository=first.repository,
            number=first.number,
            comment_id=comment_id,
            body="\n\n".join(command.result for command in commands if command.result),
        )
    return [command.state for command in commands]


def bot_commands_requeue_stale(*, older_than: timedelta | None = None) -> int:
    """Queue again the comments whose commands are still pending `GITHUB_REQUEUE_AFTER` after
    they arrived (their message was lost); how many comments."""
    if older_than is None:
        older_than = timedelta(seconds=settings.GITHUB_REQUEUE_AFTER)
    comment_ids = list(
        BotCommand.objects.filter(
            state=BotCommand.State.PENDING, created_at__lt=timezone.now() - older_than
        )
        .values_list("comment_id", flat=True)
        .distinct()[:1000]
    )
    for comment_id in comment_ids:
        run_bot_commands.delay(comment_id)
    return len(comment_ids)
