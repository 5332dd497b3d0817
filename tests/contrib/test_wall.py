"""The contributors wall: everyone who contributed, each kind as an emoji, as Markdown and SVG
(cached), and the admin action that opens a pull request putting it into a repository's
README between its markers, against the local GitHub-compatible server."""

from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.core.cache import caches
from django.test import Client

from contrib.wall import END, START, readme_with_wall, wall_markdown, wall_people
from tests.factories import ContributionFactory, ContributorFactory, RepositoryFactory
from tests.github_server.server import FakeGitHub

pytestmark = pytest.mark.django_db

README = f"# Tiny GPT\n\nTrain it.\n\n## Contributors\n\n{START}\nold wall\n{END}\n\nMIT.\n"


@pytest.fixture(autouse=True)
def people() -> None:
    caches["pictures"].clear()
    ada = ContributorFactory(
        login="ada-wall", name="Ada", avatar_url="https://avatars.example/ada.png"
    )
    for kind in ("code", "code", "review", "evaluation"):
        ContributionFactory(contributor=ada, kind=kind)
    ContributionFactory(contributor=ContributorFactory(login="grace-wall"), kind="doc")
    ContributionFactory(contributor=ContributorFactory(login="ci[bot]", is_bot=True), kind="code")


def test_the_wall_as_markdown_and_svg(settings: Any) -> None:
    settings.PLATFORM_URL = "https://crucible.example.org"
    answer = Client().get("/contributors/wall.md")
    assert answer["Content-Type"].startswith("text/markdown")
    assert answer["Cache-Control"] == "public, max-age=300"
    wall = answer.content.decode()
    assert wall.startswith(START) and wall.rstrip().endswith(END)
    assert '<a href="https://crucible.example.org/c/ada-wall/">' in wall
    assert '<img src="https://avatars.example/ada.png"' in wall
    assert 'title="Code, Evaluation, Review">💻 🔬 👀<' in wall  # most frequent first
    assert wall.index("ada-wall") < wall.index("grace-wall")  # by score
    assert "📖" in wall and "ci[bot]" not in wall
    svg = Client().get("/contributors/wall.svg")
    assert svg["Content-Type"].startswith("image/svg+xml")
    picture = svg.content.decode()
    assert 'aria-label="2 contributors"' in picture and ">ada-wall</text>" in picture
    assert "<style" not in picture and "<script" not in picture


def test_the_admin_opens_a_pull_request_updating_the_readme(github_server: FakeGitHub) -> None:
    github_server.repo("acme/tinygpt")
    github_server.file("acme/tinygpt", "README.md", README)
    github_server.repo("acme/plain")
    github_server.file("acme/plain", "README.md", "# No wall here\n")
    marked = RepositoryFactory(full_name="acme/tinygpt", github_id=None)
    plain = RepositoryFactory(full_name="acme/plain", github_id=None)
    admin = Client()
    admin.force_login(User.objects.create_superuser("root-wall", "r@example.org", "pw-long-1"))
    page = admin.post(
        "/admin/contrib/repository/",
        {"action": "update_contributors_wall", "_selected_action": [marked.pk, plain.pk]},
        follow=True,
    ).content.decode()
    assert "Pull request opened on acme/tinygpt: https://github.com/acme/tinygpt/pull/1" in page
    assert "The README.md of acme/plain has no wall markers" in page
    state = github_server.repos["acme/tinygpt"]
    (pull,) = state.pulls.values()
    assert pull["title"] == "Update the contributors wall" and pull["base"]["ref"] == "main"
    proposed = state.files[(pull["head"]["ref"], "README.md")]
    assert proposed.startswith("# Tiny GPT\n") and proposed.endswith(f"{END}\n\nMIT.\n")
    assert "old wall" not in proposed and "ada-wall" in proposed
    assert state.files[("main", "README.md")] == README  # the default branch is untouched
    assert github_server.repos["acme/plain"].pulls == {}
    # Merged: asked again, there is nothing to propose.
    github_server.file("acme/tinygpt", "README.md", proposed)
    again = admin.post(
        "/admin/contrib/repository/",
        {"action": "update_contributors_wall", "_selected_action": [marked.pk]},
        follow=True,
    ).content.decode()
    assert "The contributors wall of acme/tinygpt is already current." in again
    assert len(state.pulls) == 1


def test_a_name_cannot_break_out_of_its_cell_and_markers_are_found_from_the_end() -> None:
    """Red team: a carriage return kept in a git author name ended the wall's HTML block, and
    what followed rendered as Markdown (a heading, a link) in the README."""
    ContributionFactory(
        contributor=ContributorFactory(
            login="sneaky", name="x\r\r# Injected [claim](https://evil.example)\u2028"
        ),
        kind="code",
    )
    wall = wall_markdown(wall_people(), site="https://crucible.example.org")
    assert "\r" not in wall and "\u2028" not in wall
    assert not any(line.lstrip().startswith("#") for line in wall.splitlines())
    # A start marker quoted earlier (in a code block) is not where the wall starts.
    readme = f"```\n{START}\n```\nIntro.\n{START}\nold\n{END}\nEnd.\n"
    assert readme_with_wall(readme, "WALL") == f"```\n{START}\n```\nIntro.\nWALL\nEnd.\n"
    assert readme_with_wall(f"{END}\n{START}\n", "WALL") is None


def test_staff_who_may_only_view_repositories_cannot_open_the_pull_request(
    github_server: FakeGitHub,
) -> None:
    """Red team: a view-only staff member ran the admin actions that write to GitHub."""
    github_server.repo("acme/tinygpt")
    github_server.file("acme/tinygpt", "README.md", README)
    repository = RepositoryFactory(full_name="acme/tinygpt", github_id=None)
    viewer = User.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_repository"))
    client = Client()
    client.force_login(viewer)
    client.post(
        "/admin/contrib/repository/",
        {"action": "update_contributors_wall", "_selected_action": [repository.pk]},
    )
    assert github_server.repos["acme/tinygpt"].pulls == {}
