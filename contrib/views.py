"""Pages of the contrib app: thin views over contrib's selectors. Sections about evaluations
come from `ui.panels`, which the evaluation app fills (contrib never imports it)."""

import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import InterfaceError, OperationalError, connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from contrib.badges import awards_for, contributor_awards
from contrib.contributors import contributor_get_public
from contrib.docs import (
    DocError,
    diff_lines,
    doc_diff,
    doc_page_get,
    doc_pages,
    doc_revision_create,
    markdown_render,
)
from contrib.forms import DocEditForm
from contrib.health import community_health
from contrib.honor_rolls import (
    YEARS,
    Category,
    Period,
    honor_roll_compute,
    honor_roll_get,
    period_window,
)
from contrib.mirrors import issues_for_newcomers, issues_open_count
from contrib.models import Award, ContributionKind, DocPage, DocRevision
from contrib.scores import (
    contribution_days,
    contributions_per_week,
    contributor_kind_counts,
    contributor_standing,
    contributor_tallies,
)
from contrib.skills import contributor_skills
from contrib.sponsorships import contributor_is_sponsored, sponsorships_public
from contrib.wall import wall_markdown, wall_people, wall_svg
from ui.cards import PNG, card_missing, card_png
from ui.charts import heatmap, legend, stacked_bars
from ui.panels import panels_render_context
from ui.params import page_choice, page_integer, page_time
from ui.shields import BLUE, GREEN, GREY, SVG, badge_response, cached_response

KIND_LABELS = dict(ContributionKind.choices)


def _weekly_chart(now: datetime) -> dict[str, Any]:
    """Contributions per week by kind over the last 52 weeks, as an SVG and its figures."""
    first_week = period_window(period=Period.WEEK, at=now - timedelta(weeks=51)).starts_at
    weeks = [first_week + timedelta(weeks=i) for i in range(52)]
    per_week: dict[str, dict[datetime, int]] = defaultdict(dict)
    for row in contributions_per_week(since=first_week):
        week = row["week"]
        if isinstance(week, datetime):
            week = week.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        else:  # a date on some backends
            week = datetime(week.year, week.month, week.day, tzinfo=UTC)
        per_week[row["kind"]][week] = row["n"]
    kinds = [k for k in ContributionKind.values if k in per_week]
    series = [(KIND_LABELS[k], [per_week[k].get(w, 0) for w in weeks]) for k in kinds]
    totals = [(KIND_LABELS[k], sum(per_week[k].values())) for k in kinds]
    return {
        "svg": stacked_bars(
            labels=[f"{w:%b %d}" for w in weeks],
            series=series,
            title=f"Contributions per week by kind, {weeks[0]:%b %Y} to {weeks[-1]:%b %Y}",
        ),
        "legend": legend([name for name, _ in series], areas=True),
        "totals": totals,
    }


def duration_text(seconds: float | None) -> str:
    """A duration as people say it: 45 minutes, 3.5 hours, 2 days."""
    if seconds is None:
        return ""
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def home(request: HttpRequest) -> HttpResponse:
    """The community at a glance: this month's health, a year of activity by kind, open issues,
    evaluations (a panel from the evaluation app) and this month's top contributors."""
    now = timezone.now()
    month = period_window(period=Period.MONTH, at=now)
    health = community_health(window=month)
    top = honor_roll_compute(window=month, category=Category.OVERALL, limit=10)
    context = {
        "health": health,
        "first_response": duration_text(health["first_response_median_seconds"]),
        "open_issues": issues_open_count(),
        "weekly": _weekly_chart(now),
        "top": [(row, sum(row.breakdown.values())) for row in top],
        "panels": panels_render_context(page="dashboard"),
    }
    return render(request, "contrib/home.html", context)


def _grouped(awards: list[Award]) -> list[dict[str, Any]]:
    """One entry per badge, with how many times it was earned and its latest citation."""
    badges: dict[int, dict[str, Any]] = {}
    for award in awards:
        entry = badges.setdefault(award.badge_id, {"badge": award.badge, "count": 0})
        entry["count"] += 1
        entry["citation"] = award.citation
    return list(badges.values())


def honor_roll(request: HttpRequest) -> HttpResponse:
    """The honour roll of a period and category; past periods are frozen and say so."""
    period = page_choice(request.GET, "period", default=Period.MONTH, choices=Period.values)
    category = page_choice(
        request.GET, "category", default=Category.OVERALL, choices=Category.values
    )
    at = page_time(request.GET, "at")
    window = period_window(period=period, at=at)
    if window.starts_at > timezone.now():
        window = period_window(period=period)
    roll = honor_roll_get(period=period, category=category, at=window.starts_at, limit=50)
    awards = awards_for(
        contributor_ids=[row.contributor.pk for row in roll["entries"]],
        before=window.ends_at if window.ends_at <= timezone.now() else None,
    )
    rows = [
        {
            "row": row,
            "breakdown": [(KIND_LABELS.get(k, k), n) for k, n in row.breakdown.items()],
            "badges": _grouped(awards.get(row.contributor.pk, [])),
        }
        for row in roll["entries"]
    ]
    previous = nxt = None
    first_day = datetime(YEARS[0], 1, 1, tzinfo=UTC)  # the earliest time `at` may name
    if period != Period.ALL and window.starts_at > first_day:
        previous = period_window(period=period, at=window.starts_at - timedelta(seconds=1))
        if window.ends_at <= timezone.now():
            nxt = period_window(period=period, at=window.ends_at)

    def day(moment: datetime) -> str:
        return f"{max(moment, first_day):%Y-%m-%d}"  # a week may start in 1969

    def link(**changes: str) -> str:
        query = {"period": period, "category": category, "at": day(window.starts_at)}
        query.update(changes)
        return reverse("honors") + "?" + "&".join(f"{k}={v}" for k, v in query.items() if v)

    context = {
        "roll": roll,
        "rows": rows,
        "periods": [(value, label, link(period=value)) for value, label in Period.choices],
        "categories": [(value, label, link(category=value)) for value, label in Category.choices],
        "previous": previous and {"label": previous.label, "url": link(at=day(previous.starts_at))},
        "next": nxt and {"label": nxt.label, "url": link(at=day(nxt.starts_at))},
    }
    return render(request, "contrib/honors.html", context)


def contributor_profile(request: HttpRequest, login: str) -> HttpResponse:
    """A contributor's public page: a year of activity, kinds, skills, badges, submissions."""
    contributor = contributor_get_public(login=login)
    if contributor is None:
        raise Http404("no contributor with that login")
    today = timezone.now().astimezone(UTC).date()
    year_ago = datetime.combine(today - timedelta(days=371), datetime.min.time(), tzinfo=UTC)
    days = contribution_days(contributor=contributor, since=year_ago)
    tallies = contributor_tallies(contributor=contributor)  # read once: kinds and skills
    kinds = contributor_kind_counts(contributor=contributor, tallies=tallies)
    context = {
        "contributor": contributor,
        "heatmap": heatmap(
            counts=days,
            end=today,
            title=f"{sum(days.values())} contributions by {contributor} in the last year",
        ),
        "year_total": sum(days.values()),
        "kinds": [(KIND_LABELS.get(kind, kind), n) for kind, n in kinds],
        "kinds_peak": max((n for _, n in kinds), default=1),
        "skills": contributor_skills(contributor=contributor, tallies=tallies),
        "awards": contributor_awards(contributor=contributor),
        "sponsored": contributor_is_sponsored(contributor=contributor),
        "panels": panels_render_context(page="profile", contributor=contributor),
    }
    return render(request, "contrib/profile.html", context)


def issues(request: HttpRequest) -> HttpResponse:
    """Where to start: good first issues, open bounties, and issues nobody answered yet."""
    return render(request, "contrib/issues.html", issues_for_newcomers())


def sponsors(request: HttpRequest) -> HttpResponse:
    """The people and organisations who publicly sponsor the project."""
    return render(request, "contrib/sponsors.html", {"sponsorships": sponsorships_public()})


def docs_index(request: HttpRequest) -> HttpResponse:
    return render(request, "contrib/docs/index.html", {"pages": doc_pages()})


def _doc_or_404(slug: str) -> tuple[DocPage, DocRevision | None]:
    found = doc_page_get(slug=slug)
    if found is None:
        raise Http404("no such page")
    return found


def doc_page(request: HttpRequest, slug: str) -> HttpResponse:
    page, latest = _doc_or_404(slug)
    html = markdown_render(text=latest.body) if latest else ""
    context = {
        "page": page,
        "latest": latest,
        "html": html,
        "panels": panels_render_context(page="doc", doc=page),
    }
    return render(request, "contrib/docs/page.html", context)


def doc_history(request: HttpRequest, slug: str) -> HttpResponse:
    page, _latest = _doc_or_404(slug)
    revisions = page.revisions.select_related("author").order_by("-number")
    diff, error = None, ""
    first, last = page_integer(request.GET, "from"), page_integer(request.GET, "to")
    numbers = (first, last) if first is not None and last is not None else None
    if numbers is not None:
        try:
            diff = diff_lines(doc_diff(page=page, from_number=numbers[0], to_number=numbers[1]))
        except DocError as exc:
            error = str(exc)
    context = {
        "page": page,
        "revisions": revisions,
        "diff": diff,
        "numbers": numbers,
        "error": error,
    }
    return render(request, "contrib/docs/history.html", context)


@login_required
def doc_edit(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    """Edit a page (or write a new one): each save is a revision through `doc_revision_create`."""
    page, latest = _doc_or_404(slug) if slug else (None, None)
    initial = {"title": latest.title, "body": latest.body} if latest else {}
    form = DocEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            revision = doc_revision_create(
                user=request.user,  # type: ignore[arg-type]  # login_required
                slug=slug,
                **form.cleaned_data,
            )
        except DocError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("doc", slug=revision.page.slug)
    status = 400 if form.errors else 200
    return render(request, "contrib/docs/edit.html", {"page": page, "form": form}, status=status)


def badge_contributor(request: HttpRequest, login: str) -> HttpResponse:
    """`/badges/c/<login>.svg`: a person's all-time rank and points, for their README."""

    def build() -> tuple[str, str, str, int]:
        contributor = contributor_get_public(login=login)
        if contributor is None:
            return "crucible", "no such contributor", GREY, 404
        if contributor.is_bot:
            return "crucible", "a bot: not ranked", GREY, 200
        rank, score = contributor_standing(contributor=contributor)
        points = f"{score.normalize():f}" if score else "0"
        return "crucible", f"#{rank} · {points} points", GREEN if rank <= 10 else BLUE, 200

    return badge_response(f"c:{login}", build)


def card_contributor(request: HttpRequest, login: str) -> HttpResponse:
    """`/cards/c/<login>.png`: the picture a shared link to a profile shows."""

    def build() -> tuple[bytes, int]:
        contributor = contributor_get_public(login=login)
        if contributor is None:
            return card_missing(), 404
        rank, score = contributor_standing(contributor=contributor)
        kinds = contributor_kind_counts(
            contributor=contributor, tallies=contributor_tallies(contributor=contributor)
        )
        lines = [", ".join(f"{n} {KIND_LABELS.get(k, k).lower()}" for k, n in kinds[:4])]
        return (
            card_png(
                kicker="Contributor",
                title=f"{contributor.name} ({contributor.login})"
                if contributor.name
                else contributor.login,
                figure=f"#{rank} · {score.normalize():f} points" if score else "new here",
                lines=[line for line in lines if line],
            ),
            200,
        )

    return cached_response(f"card:c:{login}", build, content_type=PNG)


def contributors_wall(request: HttpRequest, kind: str) -> HttpResponse:
    """`/contributors/wall.svg` and `.md`: everyone who contributed, for the README."""
    site = settings.PLATFORM_URL

    def build() -> tuple[str, int]:
        bricks = wall_people()
        return (wall_svg(bricks) if kind == "svg" else wall_markdown(bricks, site=site)), 200

    content_type = SVG if kind == "svg" else "text/markdown; charset=utf-8"
    return cached_response(f"wall:{kind}", build, content_type=content_type)


# The database, the broker, or the shared cache (Redis, with the broker's) out of reach.
UNAVAILABLE = (
    OperationalError,
    InterfaceError,
    KombuOperationalError,
    RedisConnectionError,
    RedisTimeoutError,
)
RETRY_AFTER_SECONDS = 30


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's 500 handler (`handler500`), for an exception nothing handled, in a view or a
    middleware. The database, the broker or the cache out of reach (down, restarting, locked
    past its timeout) is a 503 with `Retry-After`: come back soon, nothing is wrong with the
    request. A static page either way: it must not need the database it may have lost."""
    if isinstance(sys.exc_info()[1], UNAVAILABLE):
        if request.path.startswith(("/api/", "/webhooks/")):
            response: HttpResponse = JsonResponse(
                {"error": "the service is briefly unavailable; try again shortly"}, status=503
            )
        else:
            response = HttpResponse(_static_page("503.html"), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return HttpResponse(_static_page("500.html"), status=500)


def _static_page(name: str) -> str:
    return loader.get_template(name).render()


def favicon(request: HttpRequest) -> HttpResponse:
    """`/favicon.ico`, which browsers ask for on any page (a JSON one too): the site's icon."""
    return redirect(static("img/favicon.svg"), permanent=True)


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for the proxy and the process manager."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
