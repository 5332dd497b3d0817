"""What people do on the site, in a real browser: sign in with GitHub, submit a config and watch
it train to a score, find it on the leaderboard, look at the honour roll and a profile, edit a
doc page, make an API token; and the pages at phone width, by keyboard, with AA contrast."""

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import expect

from contrib.honor_rolls import honor_rolls_freeze_ended
from contrib.ledger import contribution_record
from evaluation.models import Submission
from evaluation.services import benchmark_get_or_create
from tests.browser.conftest import MODEL_REPO, Site
from tests.factories import ContributorFactory

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def sign_in_with_github(page: Any, site: Site, login: str, *, user_id: int) -> None:
    site.github.user(login, user_id=user_id)
    site.github.oauth_user = login  # signed in on GitHub, approves the app
    page.goto(f"{site.url}/")
    page.get_by_role("link", name="Sign in").click()
    page.get_by_role("button", name="Sign in with GitHub").click()
    expect(page.locator("details.menu summary")).to_contain_text(login)


def test_sign_in_submit_a_config_watch_it_score_and_find_it_on_the_leaderboard(
    site: Site, page: Any
) -> None:
    # A tiny budget: the baseline and the submission each train for seconds on the worker.
    benchmark = benchmark_get_or_create(
        slug="demo-cpu", engine_spec="demo-cpu", queue="cpu", seeds=1, byte_budget=8192,
        name="Demo (CPU)",
    )  # fmt: skip
    site.github.set_permission(MODEL_REPO, "octo", "write")
    sign_in_with_github(page, site, "octo", user_id=4242)
    assert User.objects.get(username="octo").is_staff  # write access: a maintainer

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Submit").click()
    expect(page.get_by_role("heading", name="Submit a model change")).to_be_visible()
    page.get_by_label("Title").fill("Browser-made try")
    learning_rate = page.get_by_label(re.compile(r"^lr\b|learning rate", re.I)).first
    learning_rate.fill("-1")
    page.get_by_role("button", name="Submit for evaluation").click()
    # The error is next to the field, and nothing was submitted.
    expect(page.locator(".field.invalid .errorlist").first).to_be_visible()
    assert not Submission.objects.filter(title="Browser-made try").exists()
    learning_rate.fill("0.004")
    page.get_by_role("button", name="Submit for evaluation").click()

    expect(page).to_have_url(re.compile(r"/submissions/\d+/$"))
    submission = Submission.objects.get(title="Browser-made try")
    status = page.locator("span.status").first
    expect(status).to_have_text(re.compile("Queued|Running"))
    url_before = page.url
    # htmx swaps the live part in place while the worker trains it: no reload needed.
    expect(status).to_have_text("Scored", timeout=240_000)
    assert page.url == url_before
    submission.refresh_from_db()
    expect(page.get_by_text(f"{submission.mean_val_bpb:.4f}", exact=False).first).to_be_visible()
    expect(page.locator("svg.chart").first).to_be_visible()  # loss curves against the baseline

    page.get_by_role("link", name="Demo (CPU)").first.click()
    expect(page).to_have_url(f"{site.url}/leaderboard/{benchmark.slug}/")
    row = page.locator("tr", has=page.get_by_role("link", name="octo"))
    expect(row.first).to_be_visible()
    expect(row.first).to_contain_text(f"{submission.mean_val_bpb:.4f}")


def _community() -> None:
    """A last month with contributions, frozen into an honour roll, and a live current month."""
    now = timezone.now()
    last_month = (now.replace(day=1) - timedelta(days=1)).replace(day=10)
    people = [
        ContributorFactory(login=login, github_id=700 + n, name=login.title())
        for n, login in enumerate(["ada-lovelace", "grace-hopper", "alan-turing"])
    ]
    for n, (person, kinds) in enumerate(
        zip(people, [["code", "code", "review"], ["doc", "review"], ["bug"]], strict=True)
    ):
        for k, kind in enumerate(kinds):
            for when in (last_month, now - timedelta(hours=1)):
                contribution_record(
                    contributor=person, kind=kind, occurred_at=when - timedelta(minutes=k),
                    source="manual", external_id=f"{person.login}-{kind}-{k}-{when:%m}-{n}",
                )  # fmt: skip
    honor_rolls_freeze_ended()


def test_honour_roll_and_a_profile(site: Site, page: Any) -> None:
    _community()
    page.goto(f"{site.url}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Honour roll").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Honour roll")
    first = page.locator("table tbody tr").first
    expect(first).to_contain_text("ada-lovelace")
    # Last month is frozen; the switcher goes there.
    page.get_by_role("link", name=re.compile("Previous|←")).first.click()
    expect(page.get_by_text(re.compile("frozen", re.I)).first).to_be_visible()
    page.get_by_role("link", name="ada-lovelace").first.click()
    expect(page).to_have_url(f"{site.url}/c/ada-lovelace/")
    expect(page.locator("svg.heatmap")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("Skills", re.I))).to_be_visible()


def test_a_local_account_edits_a_doc_page(site: Site, page: Any) -> None:
    page.goto(f"{site.url}/accounts/signup/")
    page.get_by_label("Username").fill("writer")
    page.get_by_label("Password", exact=True).fill("a-long-password-1")
    page.get_by_label(re.compile("Password \\(again\\)")).fill("a-long-password-1")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("details.menu summary")).to_contain_text("writer")

    page.goto(f"{site.url}/docs/new/")
    page.get_by_label("Title").fill("Getting started")
    page.get_by_label("Body").fill("# Welcome\n\nRun `make run`.<script>alert(1)</script>")
    page.get_by_label("Message").fill("First version")
    page.get_by_role("button", name="Save a new revision").click()
    expect(page.get_by_role("heading", name="Welcome")).to_be_visible()
    assert page.locator("article script").count() == 0  # sanitised

    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label("Body").fill("# Welcome\n\nRun `make run`, then open the dashboard.")
    page.get_by_label("Message").fill("Say what to open")
    page.get_by_role("button", name="Save a new revision").click()
    expect(page.get_by_text("then open the dashboard")).to_be_visible()
    page.get_by_role("link", name="History", exact=True).click()
    expect(page.get_by_text("Say what to open")).to_be_visible()
    expect(page.get_by_text("First version")).to_be_visible()


def test_an_api_token_is_made_shown_once_and_revoked(site: Site, page: Any, settings: Any) -> None:
    # Hashed the way the live site checks it (the test settings' fast hasher is not one of its).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    User.objects.create_user("scripter", password="a-long-password-1")
    page.goto(f"{site.url}/accounts/login/")
    page.get_by_label(re.compile("Username|Login", re.I)).fill("scripter")
    page.get_by_label("Password").fill("a-long-password-1")
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.locator("details.menu summary").click()
    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("Name").fill("notebook")
    page.get_by_role("button", name="Create token").click()
    key = page.get_by_label("New token").input_value()
    assert key.startswith("cru_")
    # The page's script is a file the CSP allows: it shows the copy button and selects the key.
    expect(page.get_by_role("button", name="Copy")).to_be_visible()
    page.get_by_label("New token").focus()
    selected = "e => e.value.slice(e.selectionStart, e.selectionEnd)"
    assert page.get_by_label("New token").evaluate(selected) == key
    answer = page.request.get(
        f"{site.url}/api/repositories/", headers={"Authorization": f"Token {key}"}
    )
    assert answer.status == 200
    page.get_by_role("button", name="Revoke notebook").click()
    expect(page.get_by_text("revoked", exact=False).first).to_be_visible()
    refused = page.request.post(
        f"{site.url}/api/doc-pages/",
        headers={"Authorization": f"Token {key}"},
        data={"slug": "x", "title": "x", "body": "x"},
    )
    assert refused.status == 401


def test_swagger_ui_and_the_admin_work_under_a_csp_without_inline_code(
    site: Site, page: Any, settings: Any
) -> None:
    """The policy forbids inline script and style; the API's docs page (Swagger UI) and the
    admin still work, and nothing on them is blocked (the `page` fixture checks the console)."""
    response = page.goto(f"{site.url}/api/docs/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Crucible API")
    page.locator(".opblock-summary", has_text="/api/contributors/").first.click()
    expect(page.get_by_role("button", name="Try it out").first).to_be_visible()

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    User.objects.create_superuser("csp-admin", password="a-long-password-1")
    page.goto(f"{site.url}/admin/login/")
    page.get_by_label("Username").fill("csp-admin")
    page.get_by_label("Password").fill("a-long-password-1")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{site.url}/admin/contrib/contributor/add/")
    expect(page.get_by_label("Login")).to_be_visible()


# Text whose contrast with its background is below WCAG AA (4.5:1, or 3:1 for large text).
LOW_CONTRAST_JS = """() => {
  const channel = v => (v /= 255) <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const parse = s => {
    const m = s.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(parseFloat);
    return {rgb: p.slice(0, 3), alpha: p.length > 3 ? p[3] : 1};
  };
  const background = el => {
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.alpha > 0.5) return c.rgb;
    }
    return [255, 255, 255];
  };
  const low = [];
  for (const el of document.querySelectorAll("body *")) {
    if (el.closest("svg") || el.closest("[hidden]")) continue;
    if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (box.width <= 1 || box.height <= 1 || style.visibility === "hidden") continue;
    const [a, b] = [luminance(parse(style.color).rgb), luminance(background(el))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight) >= 700;
    const large = size >= 24 || (size >= 18.66 && bold);
    const text = el.textContent.trim().slice(0, 30);
    if (ratio < (large ? 3 : 4.5)) low.push(`${el.tagName} "${text}" ${ratio.toFixed(2)}`);
  }
  return low;
}"""


def test_pages_fit_a_phone_and_work_by_keyboard(site: Site, browser: Any) -> None:
    _community()
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    try:
        for path in ["/", "/honors/", "/c/ada-lovelace/", "/issues/", "/docs/", "/sponsors/",
                     "/submissions/", "/accounts/login/"]:  # fmt: skip
            page.goto(f"{site.url}{path}")
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{path} scrolls sideways at 360 px by {overflow} px"
            low = page.evaluate(LOW_CONTRAST_JS)
            assert not low, f"{path}: text below WCAG AA contrast: {low[:5]}"
        page.goto(f"{site.url}/")
        page.keyboard.press("Tab")
        skip = page.get_by_role("link", name="Skip to content")
        expect(skip).to_be_focused()
        outline = skip.evaluate("e => getComputedStyle(e).outlineStyle")
        assert outline != "none"  # focus is visible
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{site.url}/#main")
    finally:
        context.close()
