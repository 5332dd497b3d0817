"""Pictures a link or a README shows: the record badges and the leaderboard's card."""

from django.http import (
    HttpRequest,
    HttpResponse,
)

from contrib.contributors import (
    contributor_canonical,
    contributor_get_public,
)
from evaluation.selectors import (
    benchmark_get,
    leaderboard_get,
    record_held_by,
    record_holder,
)
from ui.cards import PNG, card_missing, card_png
from ui.shields import BLUE, GREY, ORANGE, badge_response, cached_response


def badge_record(request: HttpRequest, slug: str) -> HttpResponse:
    """`/badges/record/<slug>.svg`: the benchmark's current record, for the model's README."""

    def build() -> tuple[str, str, str, int]:
        benchmark = benchmark_get(slug=slug)
        if benchmark is None:
            return "crucible", "no such benchmark", GREY, 404
        holder = record_holder(benchmark, version=benchmark.data_version, excluding=0)
        if holder is None or holder.mean_val_bpb is None:
            return f"{slug} record", "none yet", GREY, 200
        who = "the baseline"
        if holder.contributor is not None:
            who = contributor_canonical(holder.contributor).login  # a merged one: who it became
        return f"{slug} record", f"{holder.mean_val_bpb:.4f} bpb by {who}", ORANGE, 200

    return badge_response(f"record:{slug}", build)


def badge_record_holder(request: HttpRequest, login: str, slug: str) -> HttpResponse:
    """`/badges/c/<login>/record/<slug>.svg`: whether a person holds (or held) the record."""

    def build() -> tuple[str, str, str, int]:
        benchmark = benchmark_get(slug=slug)
        contributor = contributor_get_public(login=login)
        if benchmark is None or contributor is None:
            return "crucible", "not found", GREY, 404
        holding, held = record_held_by(benchmark=benchmark, contributor=contributor)
        if holding is not None:
            return f"{slug} record", f"holder · {holding.mean_val_bpb:.4f} bpb", ORANGE, 200
        return f"{slug} record", "held it before" if held else "not yet", BLUE, 200

    return badge_response(f"holder:{login}:{slug}", build)


def card_record(request: HttpRequest, slug: str) -> HttpResponse:
    """`/cards/record/<slug>.png`: the picture a shared link to a leaderboard shows: its
    current record and the next entries."""

    def build() -> tuple[bytes, int]:
        benchmark = benchmark_get(slug=slug)
        if benchmark is None:
            return card_missing(), 404
        holder = record_holder(benchmark, version=benchmark.data_version, excluding=0)
        figure = f"{holder.mean_val_bpb:.4f} bpb" if holder and holder.mean_val_bpb else "—"
        who = "the baseline"
        if holder is not None and holder.contributor is not None:
            who = holder.contributor.login
        margin = ""
        if holder is not None and holder.record_p_value is not None:
            margin = f", p = {holder.record_p_value:.2g}"
        top = [
            f"{row['entry'].rank}. {row['entry'].contributor.login} {row['entry'].mean_val_bpb:.4f}"
            for row in leaderboard_get(benchmark=benchmark)
            if "entry" in row
        ][:3]
        return (
            card_png(
                kicker=f"Record · {benchmark.name or benchmark.slug}",
                title=f"held by {who}{margin}",
                figure=figure,
                lines=top,
            ),
            200,
        )

    return cached_response(f"card:record:{slug}", build, content_type=PNG)
