"""The contributors wall for a project's README: everyone who contributed, with an emoji per
kind of contribution (All Contributors' key, kept current from the ledger rather than by hand),
as Markdown (HTML cells, as All Contributors writes them) and as an SVG picture."""

from dataclasses import dataclass
from decimal import Decimal
from html import escape
from urllib.parse import quote

from django.db.models import Sum
from django.utils import timezone
from github import GithubException

from contrib.github.client import GitHubNotConfigured, github_call, github_client
from contrib.models import ContributionKind, ContributionTally, Contributor, Repository
from contrib.scores import contributors_public, tally_points
from ui.charts import color
from ui.shields import one_line

# All Contributors' emoji key where it has the kind; 🔬 (its "research") for evaluations.
KIND_EMOJI: dict[str, str] = {
    ContributionKind.CODE: "💻",
    ContributionKind.REVIEW: "👀",
    ContributionKind.BUG: "🐛",
    ContributionKind.DOC: "📖",
    ContributionKind.QUESTION: "💬",
    ContributionKind.DISCUSSION: "📢",
    ContributionKind.TEST: "⚠️",
    ContributionKind.INFRA: "🚇",
    ContributionKind.MAINTENANCE: "🚧",
    ContributionKind.TRANSLATION: "🌍",
    ContributionKind.MENTORING: "🧑‍🏫",
    ContributionKind.IDEAS: "🤔",
    ContributionKind.EVALUATION: "🔬",
    ContributionKind.SPONSORSHIP: "💵",
}
KIND_LABELS = dict(ContributionKind.choices)
PER_ROW = 7
MAX_PEOPLE = 140
START = "<!-- crucible:contributors:start -->"
END = "<!-- crucible:contributors:end -->"


@dataclass(frozen=True)
class Brick:
    """One person on the wall: their kinds, most frequent first."""

    contributor: Contributor
    kinds: tuple[str, ...]
    score: Decimal


def wall_people(*, limit: int = MAX_PEOPLE) -> list[Brick]:
    """The people (not bots, not private-only sponsors) with their kinds, by all-time score
    (then login), from the tallies: two queries whatever the ledger's size."""
    people = contributors_public().filter(is_bot=False)
    rows = (
        ContributionTally.objects.filter(contributor__in=people.values("pk"), count__gt=0)
        .values("contributor_id", "kind")
        .annotate(n=Sum("count"), points=Sum(tally_points()))
    )
    kinds: dict[int, list[tuple[int, str]]] = {}
    scores: dict[int, Decimal] = {}
    for row in rows:
        kinds.setdefault(row["contributor_id"], []).append((row["n"], row["kind"]))
        scores[row["contributor_id"]] = scores.get(row["contributor_id"], Decimal(0)) + (
            row["points"] or Decimal(0)
        )
    found = {c.pk: c for c in Contributor.objects.filter(pk__in=list(kinds))}
    order = sorted(found, key=lambda pk: (-scores[pk], found[pk].login.lower()))[:limit]
    return [
        Brick(
            contributor=found[pk],
            kinds=tuple(kind for _n, kind in sorted(kinds[pk], key=lambda t: (-t[0], t[1]))),
            score=scores[pk],
        )
        for pk in order
    ]


def _emoji(kinds: tuple[str, ...]) -> str:
    return " ".join(KIND_EMOJI.get(kind, "✨") for kind in kinds)


def _titles(kinds: tuple[str, ...]) -> str:
    return ", ".join(KIND_LABELS.get(kind, kind) for kind in kinds)


def wall_markdown(bricks: list[Brick], *, site: str) -> str:
    """The wall as README Markdown between the markers (`START`…`END`): a table of HTML cells,
    each a linked avatar, the name and the kinds' emoji, then the key."""
    lines = [START, "<table>"]
    for start in range(0, len(bricks), PER_ROW):
        lines.append("  <tr>")
        for brick in bricks[start : start + PER_ROW]:
            person = brick.contributor
            url = f"{site}/c/{quote(person.login)}/"
            name = one_line(person.name or person.login)
            avatar = (
                f'<img src="{escape(person.avatar_url)}" width="80" alt=""/><br/>'
                if person.avatar_url
                else ""
            )
            lines.append(
                f'    <td align="center" valign="top" width="14.28%"><a href="{escape(url)}">'
                f"{avatar}<sub><b>{escape(name)}</b></sub></a><br/>"
                f'<span title="{escape(_titles(brick.kinds))}">{_emoji(brick.kinds)}</span></td>'
            )
        lines.append("  </tr>")
    lines.append("</table>")
    key = " · ".join(f"{emoji} {KIND_LABELS[kind]}" for kind, emoji in KIND_EMOJI.items())
    lines += ["", f"<sub>{key}. Kept current by [Crucible]({site}/).</sub>", END]
    return "\n".join(lines)


def wall_svg(bricks: list[Brick]) -> str:
    """The wall as one picture: initials in a circle, the login and the kinds' emoji (styled
    by attributes, not a <style>: a strict Content-Security-Policy allows them)."""
    cell, height = 110, 118
    rows = max(1, -(-len(bricks) // PER_ROW))
    width, total = PER_ROW * cell, rows * height
    body = []
    for index, brick in enumerate(bricks):
        x = (index % PER_ROW) * cell + cell / 2
        y = (index // PER_ROW) * height
        login = one_line(brick.contributor.login)
        initials = "".join(part[:1] for part in login.replace("_", "-").split("-")[:2]).upper()
        body.append(
            f"<g><title>{escape(login)}: {escape(_titles(brick.kinds))}</title>"
            f'<circle cx="{x:.0f}" cy="{y + 34}" r="28" fill="{color(index)}"/>'
            f'<text x="{x:.0f}" y="{y + 41}" fill="#fff" font-size="20" font-weight="700">'
            f"{escape(initials or '?')}</text>"
            f'<text x="{x:.0f}" y="{y + 80}" fill="#1f2328" font-size="12">'
            f"{escape(login[:16])}</text>"
            f'<text x="{x:.0f}" y="{y + 100}" font-size="13">{_emoji(brick.kinds[:5])}</text></g>'
        )
    people = f"{len(bricks)} contributor{'s' if len(bricks) != 1 else ''}"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{total}" '
        f'viewBox="0 0 {width} {total}" role="img" aria-label="{people}">'
        f'<title>{people}</title><g text-anchor="middle" '
        f'font-family="Verdana,DejaVu Sans,sans-serif">{"".join(body)}</g></svg>'
    )


def readme_with_wall(readme: str, wall: str) -> str | None:
    """The README with its wall (between the markers) replaced; None when it has no markers
    (nothing is added where a maintainer did not ask for it)."""
    end = readme.find(END)
    start = readme.rfind(START, 0, end) if end >= 0 else -1  # the start marker just before it
    if start < 0:
        return None
    return readme[:start] + wall + readme[end + len(END) :]


def readme_wall_propose(*, repository: Repository, site: str) -> tuple[bool, str]:
    """Open a pull request on `repository` that brings its README's contributors wall up to
    date (between `START` and `END`, which a maintainer puts there once), on a branch of its
    own. Returns (done, message): the PR's address, or why not (no markers, nothing changed,
    GitHub refused)."""
    try:
        gh = github_client(repository=repository, retry_writes=False)
        with github_call():
            repo = gh.get_repo(repository.full_name)
            base = repo.default_branch
            readme = repo.get_contents("README.md", ref=base)
            assert not isinstance(readme, list)
            try:
                text = readme.decoded_content.decode()
            except UnicodeDecodeError:
                return False, f"The README.md of {repository} is not UTF-8 text: left as it is."
            wall = wall_markdown(wall_people(), site=site)
            updated = readme_with_wall(text, wall)
            if updated is None:
                return False, (
                    f"The README.md of {repository} has no wall markers: put {START} and {END} "
                    "where the wall goes, once."
                )
            if updated == text:
                return True, f"The contributors wall of {repository} is already current."
            branch = f"crucible/contributors-wall-{timezone.now():%Y%m%d-%H%M%S}"
            repo.create_git_ref(ref=f"refs/heads/{branch}", sha=repo.get_branch(base).commit.sha)
            repo.update_file(
                "README.md", "Update the contributors wall", updated, readme.sha, branch=branch
            )
            pull = repo.create_pull(
                title="Update the contributors wall",
                body=f"Everyone who contributed, from [Crucible]({site}/) (kinds by emoji).",
                head=branch,
                base=base,
            )
    except (GithubException, GitHubNotConfigured) as exc:
        return False, f"GitHub refused the change to {repository} ({exc})."
    return True, f"Pull request opened on {repository}: {pull.html_url}"
