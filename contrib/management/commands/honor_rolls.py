"""`manage.py honor_rolls [--period month --at 2026-10] [--recompute]`: compute and freeze
honour rolls, every category, with progress."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from contrib.honor_rolls import (
    Category,
    Period,
    honor_roll_freeze,
    honor_rolls_freeze_ended,
    parse_at,
    period_window,
)


class Command(BaseCommand):
    help = "Freeze past honour rolls: one period (--period/--at), or the last ended of each kind."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--period", choices=[p for p in Period.values if p != Period.ALL])
        parser.add_argument("--at", help="a time inside the period: 2026-10, 2026-10-05, …")
        parser.add_argument(
            "--recompute",
            action="store_true",
            help="rebuild an already frozen roll with today's rules (recorded on the roll)",
        )

    def handle(
        self, *args: Any, period: str | None, at: str | None, recompute: bool, **options: Any
    ) -> None:
        if period is None:
            if at or recompute:
                raise CommandError("--at and --recompute need --period")
            rolls = honor_rolls_freeze_ended()
            self.stdout.write(
                self.style.SUCCESS(f"{len(rolls)} honour rolls frozen or up to date.")
            )
            return
        try:
            window = period_window(period=period, at=parse_at(at) if at else None)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if not window.is_past:
            raise CommandError(f"the {window.label} roll is still live; pick an ended period")
        categories = Category.values
        for done, category in enumerate(categories, start=1):
            roll = honor_roll_freeze(window=window, category=category, recompute=recompute)
            self.stdout.write(
                f"[{done}/{len(categories)}] {window.label}, {category}: "
                f"{roll.entries.count()} contributors"
                + (f" (recomputed, #{roll.recompute_count})" if recompute else "")
            )
