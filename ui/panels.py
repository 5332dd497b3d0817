"""Sections other apps add to contrib's pages, without contrib importing them.

contrib never imports evaluation (see DESIGN.md, dependency direction), yet the dashboard shows
evaluations and a profile shows submissions. So evaluation registers a panel here: a template
and a function that builds its context, called by contrib's view like any selector.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PAGES = ("dashboard", "profile", "doc")


@dataclass(frozen=True)
class Panel:
    name: str
    template: str
    context: Callable[..., dict[str, Any]]


_panels: dict[str, dict[str, Panel]] = {page: {} for page in PAGES}


def panel_register(*, page: str, panel: Panel) -> None:
    """Add (or replace, by name: registering twice is harmless) a panel of `page`."""
    _panels[page][panel.name] = panel


def panels_render_context(*, page: str, **kwargs: Any) -> list[dict[str, Any]]:
    """Each panel of `page` with its context built from `kwargs` (e.g. `contributor=`)."""
    return [
        {"template": panel.template, "data": panel.context(**kwargs)}
        for panel in _panels[page].values()
    ]
