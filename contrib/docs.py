"""Community docs: pages with full revision history, Markdown rendered and sanitised, diffs.

Rendering: markdown-it (CommonMark, raw HTML allowed so people can write tables and <details>),
then nh3 removes everything that could run: scripts, event-handler attributes, `javascript:` and
other non-web URL schemes, styles and forms. A revision of substance is a `doc` contribution of
its author (`doc_revision_create` says which); unusual editing shows in `contrib.patterns`.
"""

import difflib
from datetime import timedelta

import nh3
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, QuerySet
from django.utils import timezone
from django.utils.text import slugify
from markdown_it import MarkdownIt

from contrib.contributors import contributor_get_or_create_for_user
from contrib.errors import InvalidError
from contrib.ledger import contribution_record
from contrib.models import (
    Contribution,
    ContributionKind,
    ContributionSource,
    Contributor,
    DocPage,
    DocRevision,
)

_markdown = MarkdownIt("commonmark", {"html": True, "linkify": False}).enable("table")
ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "dd",
    "del",
    "details",
    "div",
    "dl",
    "dt",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "kbd",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "span",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"align"},
    "th": {"align"},
    "code": {"class"},
    "span": {"class"},
    "div": {"class"},
}
MAX_BODY_CHARS = 200_000


class DocError(InvalidError):
    """A docs change that cannot be saved, with the reason (a 400 through the one mapping)."""


def markdown_render(*, text: str) -> str:
    """Markdown to HTML that is safe to put in a page."""
    return nh3.clean(
        _markdown.render(text),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


MIN_DOC_CHANGE_CHARS = 20  # a typo fix still counts as an edit, not as a contribution
# Revisions a person who is not a maintainer may save, per hour, of pages others created.
OTHERS_PAGES_PER_HOUR = 10
# Doc contributions a person earns a day, over all pages: a stream of new pages of one's own
# is no steady income either.
DOC_POINTS_PER_DAY = 3
# Changed lines are compared character by character up to this size (a longer block counts
# whole lines: the comparison is quadratic in the block's length).
_CHAR_DIFF_LIMIT = 2_000


def changed_chars(old: str, new: str) -> int:
    """Characters other than white space that a revision adds or removes. Lines are matched
    first (lines repeated all over a page are junk there, which keeps this near-linear);
    within each block of changed lines, characters (so one letter changed on a long line is
    one or two characters, not the line), unless the block is too long to compare that way."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    total = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old_lines, new_lines).get_opcodes():
        if tag == "equal":
            continue
        removed, added = "\n".join(old_lines[i1:i2]), "\n".join(new_lines[j1:j2])
        if tag != "replace" or len(removed) + len(added) > _CHAR_DIFF_LIMIT:
            total += _visible(removed) + _visible(added)
            continue
        chars = difflib.SequenceMatcher(None, removed, added, autojunk=False)
        total += sum(
            _visible(removed[a1:b1]) + _visible(added[a2:b2])
            for op, a1, b1, a2, b2 in chars.get_opcodes()
            if op != "equal"
        )
    return total


def _visible(text: str) -> int:
    return sum(1 for char in text if not char.isspace())


def doc_revision_create(
    *, user: User, title: str, body: str, message: str = "", slug: str | None = None
) -> DocRevision:
    """Create a page or add a revision to it (signed-in users).

    The author earns a `doc` contribution only for substance (README, "Scoring"): a revision
    that changes at least ``MIN_DOC_CHANGE_CHARS`` characters, does not restore an earlier
    revision, is on a page they created (or they are a maintainer), and at most one per page,
    person and day (the ledger's key says so) and ``DOC_POINTS_PER_DAY`` a day. Anyone signed
    in may still improve any page; the history keeps every revision, so a bad edit is undone by
    restoring one."""
    title = title.strip()
    if not title:
        raise DocError("a page needs a title")
    body = _lines(body)  # a browser's form sends CRLF: one kind of line end, or diffs are noise
    if len(body) > MAX_BODY_CHARS:
        raise DocError(f"the page is longer than {MAX_BODY_CHARS:,} characters")
    slug = slug or slugify(title)[:50].rstrip("-")  # an address fits the slug column
    if not slug:
        raise DocError("the title gives no usable address; write it with letters or digits")
    for _attempt in range(3):
        try:
            with transaction.atomic():
                page, _created = DocPage.objects.get_or_create(slug=slug, defaults={"title": title})
                latest = page.revisions.aggregate(n=Max("number"))["n"] or 0
                current = page.revisions.filter(number=latest).first()
                if current is not None and current.body == body and current.title == title:
                    raise DocError("nothing changed since the current revision")
                first = page.revisions.order_by("number").values_list("author_id", flat=True)
                creator = first.first()
                if creator not in (None, user.pk) and not user.is_staff:
                    _limit_edits_of_others_pages(user)
                credited = (
                    (creator is None or creator == user.pk or user.is_staff)
                    and not page.revisions.filter(body=body).exists()  # a revert earns nothing
                    and changed_chars(current.body if current else "", body) >= MIN_DOC_CHANGE_CHARS
                )
                revision = DocRevision.objects.create(
                    page=page,
                    number=latest + 1,
                    title=title,
                    body=body,
                    message=message[:300],
                    author=user,
                )
                page.title = title
                page.save(update_fields=["title", "updated_at"])
                contributor = contributor_get_or_create_for_user(user=user) if credited else None
                if contributor is not None:  # one save at a time counts against the day's cap
                    Contributor.objects.select_for_update().filter(pk=contributor.pk).first()
                today = timezone.now().date().isoformat()
                if contributor is not None and _doc_points_today(contributor.pk, today) < (
                    DOC_POINTS_PER_DAY
                ):
                    contribution_record(
                        contributor=contributor,
                        kind=ContributionKind.DOC,
                        occurred_at=timezone.now(),
                        source=ContributionSource.PLATFORM,
                        external_id=f"doc:{page.pk}:{contributor.pk}:{today}",
                        title=f"Docs: {title} (r{revision.number})",
                        metadata={"page": slug},
                    )
                return revision
        except IntegrityError:
            continue  # someone saved a revision of the same page at the same moment: renumber
    raise DocError("the page is being edited by someone else right now; try again")


def _doc_points_today(contributor_id: int, today: str) -> int:
    return Contribution.objects.filter(
        contributor_id=contributor_id,
        kind=ContributionKind.DOC,
        source=ContributionSource.PLATFORM,
        external_id__startswith="doc:",
        external_id__endswith=f":{today}",
    ).count()


def _limit_edits_of_others_pages(user: User) -> None:
    """Anyone signed in may improve any page (the history undoes a bad edit), but not flood
    other people's pages: a few revisions an hour, then a clear refusal."""
    hour_ago = timezone.now() - timedelta(hours=1)
    created = DocRevision.objects.filter(number=1, author=user).values("page_id")
    recent = (
        DocRevision.objects.filter(author=user, created_at__gte=hour_ago)
        .exclude(page_id__in=created)
        .count()
    )
    if recent >= OTHERS_PAGES_PER_HOUR:
        raise DocError(
            f"you saved {recent} revisions of other people's pages in the last hour; that is "
            "the limit for now, so try again later (a maintainer has no limit)"
        )


def doc_diff(*, page: DocPage, from_number: int, to_number: int) -> str:
    """A unified diff between two revisions of a page."""
    for number in (from_number, to_number):
        if not 0 < number < 1 << 31:  # beyond any revision, and beyond the database's integers
            raise DocError(f"{page.slug} has no revision {number}")
    revisions = {r.number: r for r in page.revisions.filter(number__in=[from_number, to_number])}
    missing = [n for n in (from_number, to_number) if n not in revisions]
    if missing:
        raise DocError(f"{page.slug} has no revision {missing[0]}")
    old, new = revisions[from_number], revisions[to_number]
    return "".join(
        difflib.unified_diff(
            _diffable(old.body),  # revisions stored before CRLF was normalised compare as
            _diffable(new.body),  # text too, and a missing last line end is no change
            fromfile=f"{page.slug} r{old.number}",
            tofile=f"{page.slug} r{new.number}",
        )
    )


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _diffable(text: str) -> list[str]:
    lines = _lines(text).splitlines()
    return [f"{line}\n" for line in lines]


def diff_lines(diff: str) -> list[tuple[str, str]]:
    """A unified diff's lines with their kind, for colour: `add`, `del`, `hunk`, `file` or
    `same`."""
    kinds = []
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "same"
        kinds.append((kind, line))
    return kinds


def doc_pages() -> QuerySet[DocPage]:
    return DocPage.objects.annotate(revision_count=Count("revisions")).order_by("title")


def doc_page_get(*, slug: str) -> tuple[DocPage, DocRevision | None] | None:
    """A page and its latest revision (with author), or None."""
    page = DocPage.objects.filter(slug=slug).first()
    if page is None:
        return None
    latest = page.revisions.select_related("author").order_by("-number").first()
    return page, latest
