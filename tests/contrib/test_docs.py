"""Community docs: revisions, diffs, a `doc` contribution per revision, and sanitised Markdown."""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from contrib.docs import DocError, doc_revision_create, markdown_render
from contrib.models import Contribution, DocPage

pytestmark = pytest.mark.django_db

XSS = [
    "<script>alert(1)</script>",
    '<img src="x" onerror="alert(1)">',
    "[click](javascript:alert(1))",
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<svg onload="alert(1)"><circle/></svg>',
    '<iframe src="https://evil.example"></iframe>',
    '<div style="background:url(javascript:alert(1))" onclick="alert(1)">x</div>',
    "<form action='https://evil.example'><input name=p></form>",
    '<details open ontoggle="alert(1)"><summary>s</summary></details>',
    "<p>ok</p><object data='x.swf'></object><embed src='x.swf'>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph>",
]


@pytest.mark.parametrize("payload", XSS)
def test_markdown_is_sanitised(payload: str) -> None:
    # Text that merely mentions "javascript:" is harmless; what must go is anything that runs.
    html = markdown_render(text=f"# Title\n\n{payload}\n").lower()
    for bad in (
        "<script",
        "onerror",
        "onload",
        "onclick",
        "ontoggle",
        'href="javascript',
        'src="javascript',
        "<iframe",
        "<svg",
        "<form",
        "<object",
        "<embed",
        "style=",
        'href="data:',
    ):
        assert bad not in html, (payload, html)


def test_markdown_still_renders_what_people_write() -> None:
    html = markdown_render(
        text="## Setup\n\n**Bold** and `code`, a [link](https://example.org).\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n<details><summary>More</summary>x</details>\n"
    )
    assert "<h2>Setup</h2>" in html and "<strong>Bold</strong>" in html
    assert '<a href="https://example.org" rel="noopener noreferrer nofollow">link</a>' in html
    assert "<table>" in html and "<details>" in html


def test_revisions_diffs_and_doc_contributions() -> None:
    mona = User.objects.create_user("mona", password="pw-123456789")
    first = doc_revision_create(user=mona, title="Quick start", body="Install.\nRun.\n")
    second = doc_revision_create(
        user=mona, title="Quick start", body="Install.\nRun it.\n", message="clearer"
    )
    assert (first.page.slug, first.number, second.number) == ("quick-start", 1, 2)
    with pytest.raises(DocError, match="nothing changed"):
        doc_revision_create(user=mona, title="Quick start", body="Install.\nRun it.\n")
    # Two small edits on one day: a page, not two contributions (README, "Scoring").
    assert Contribution.objects.filter(kind="doc", contributor__user=mona).count() == 0

    api = APIClient()
    page = api.get("/api/doc-pages/quick-start/").json()
    assert (page["revision"], page["body"]) == (2, "Install.\nRun it.\n")
    diff = api.get("/api/doc-pages/quick-start/diff/?from=1&to=2").json()["diff"]
    assert "-Run.\n" in diff and "+Run it.\n" in diff
    assert api.get("/api/doc-pages/quick-start/diff/?from=1&to=9").status_code == 400
    history = api.get("/api/doc-pages/quick-start/revisions/").json()
    assert [(r["number"], r["author"], r["message"]) for r in history] == [
        (2, "mona", "clearer"),
        (1, "mona", ""),
    ]


def test_an_edit_from_a_browser_diffs_only_what_changed_in_colour() -> None:
    """A form posts CRLF line ends: stored as LF, so that a one-line edit is a one-line diff
    (and revisions stored before compare as text); the page colours added and removed lines."""
    mona = User.objects.create_user("mona-crlf", password="pw-123456789")
    doc_revision_create(user=mona, title="Setup", body="One.\nTwo.\nThree.\n")
    client = Client()
    client.force_login(mona)
    edit = {"title": "Setup", "body": "One.\r\nTwo, better.\r\nThree.\r\n", "message": "x"}
    assert client.post("/docs/setup/edit/", edit).status_code == 302
    assert DocPage.objects.get(slug="setup").revisions.get(number=2).body == (
        "One.\nTwo, better.\nThree."  # the form strips the last line end
    )
    page = client.get("/docs/setup/history/?from=1&to=2").content.decode()
    assert '<span class="diff-del">-Two.</span>' in page
    assert '<span class="diff-add">+Two, better.</span>' in page
    assert page.count('class="diff-del"') == 1 and page.count('class="diff-add"') == 1


def test_only_signed_in_users_write_and_pages_render_safely() -> None:
    api = APIClient()
    body = {"title": "Evil", "body": "<script>alert(1)</script>hi"}
    assert api.post("/api/doc-pages/", body, format="json").status_code in (401, 403)
    api.force_authenticate(User.objects.create_user("ann", password="pw-123456789"))
    created = api.post("/api/doc-pages/", body, format="json")
    assert created.status_code == 201
    assert "<script" not in created.json()["html"] and "hi" in created.json()["html"]
    assert DocPage.objects.get(slug="evil").revisions.count() == 1
    assert (
        api.post("/api/doc-pages/", {"title": " ", "body": "x"}, format="json").status_code == 400
    )


def test_doc_edits_cannot_farm_points() -> None:
    """Twenty revisions alternating two bodies earned twenty contributions; now substance
    counts: a real change, not a revert, on one's own page, once per page, person and day."""
    mona = User.objects.create_user("mona", password="pw-123456789")
    eve = User.objects.create_user("eve", password="pw-123456789")
    one = "How to run the demo: make run, then open the dashboard.\n"
    two = "How to run the tests: make test, on SQLite and PostgreSQL.\n"
    doc_revision_create(user=mona, title="Howto", body=one)
    for n in range(20):
        doc_revision_create(user=eve if n % 3 == 0 else mona, title="Howto", body=[two, one][n % 2])
    assert Contribution.objects.filter(kind="doc", contributor__user=mona).count() == 1
    assert Contribution.objects.filter(kind="doc", contributor__user=eve).count() == 0

    # A page of one's own earns a point for a real change; a maintainer's edits count anywhere.
    staff = User.objects.create_user("maint", password="pw-123456789", is_staff=True)
    doc_revision_create(user=eve, title="Eve's notes", body="Notes on the optimiser settings.\n")
    doc_revision_create(user=staff, title="Howto", body=one + "Also: make lint before a commit.\n")
    assert Contribution.objects.filter(kind="doc", contributor__user=eve).count() == 1
    assert Contribution.objects.filter(kind="doc", contributor__user=staff).count() == 1


def test_a_letter_changed_on_a_long_line_or_a_stream_of_new_pages_earns_little() -> None:
    from contrib.docs import DOC_POINTS_PER_DAY, changed_chars

    long_line = "The optimiser warms up for a hundred steps, then decays the rate. " * 4
    assert changed_chars(long_line, long_line.replace("hundred", "hundret", 1)) == 2
    assert changed_chars("a\nb\n", "a\nb\nA new paragraph on seeds.\n") == 21
    assert changed_chars("a\n", "a\n" + "\n" * 40 + "   \n") == 0  # white space only
    repeated = "same line\n" * 100_000  # a page built to make the comparison quadratic
    assert changed_chars(repeated, repeated + "x\n") == 1

    mona = User.objects.create_user("mona", password="pw-123456789")
    doc_revision_create(user=mona, title="Tuning", body=long_line)
    doc_revision_create(user=mona, title="Tuning", body=long_line.replace("hundred", "hundret"))
    assert Contribution.objects.filter(kind="doc", contributor__user=mona).count() == 1

    for n in range(DOC_POINTS_PER_DAY + 3):
        doc_revision_create(user=mona, title=f"Page {n}", body=f"Notes number {n} on the model.\n")
    assert Contribution.objects.filter(kind="doc", contributor__user=mona).count() == (
        DOC_POINTS_PER_DAY
    )
