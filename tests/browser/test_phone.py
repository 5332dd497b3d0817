"""Every main page at phone width (390 px, an iPhone 12–15): the page never scrolls sideways;
a table wider than the screen scrolls inside its own container; no column is squeezed to a few
characters, no row balloons, no text is cut. Signed in, so that /submit/ is there too."""

import re
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import expect

from contrib.badges import award_grant, badges_ensure
from contrib.docs import doc_revision_create
from evaluation.services import leaderboard_recompute
from evaluation.services.records import score_interval
from tests.browser.conftest import Site
from tests.browser.test_flows import _community
from tests.factories import (
    BenchmarkFactory,
    ContributorFactory,
    EvaluationRunFactory,
    SubmissionFactory,
)

PHONE = {"width": 390, "height": 844}
# What is wrong on the page: a list of sentences (empty when it fits).
LAYOUT_JS = """() => {
  const problems = [];
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth) {
    problems.push(`the page scrolls sideways by ${root.scrollWidth - root.clientWidth} px`);
  }
  for (const table of document.querySelectorAll('main table')) {
    let box = table.parentElement, scrolls = false;
    while (box && box !== document.body) {
      const style = getComputedStyle(box);
      if (['auto', 'scroll'].includes(style.overflowX)) { scrolls = true; break; }
      box = box.parentElement;
    }
    const wide = table.getBoundingClientRect().width > root.clientWidth;
    if (wide && !scrolls) problems.push(`a table is wider than the screen and does not scroll`);
    for (const row of table.querySelectorAll('tr')) {
      const height = row.getBoundingClientRect().height;
      const what = row.textContent.trim().slice(0, 40);
      if (height > 200) problems.push(`a row is ${Math.round(height)} px tall: "${what}"`);
    }
    for (const cell of table.querySelectorAll('td, th')) {
      const text = cell.textContent.trim();
      const width = cell.getBoundingClientRect().width;
      const squeezed = text.length > 4 && width < 44;
      if (squeezed) problems.push(`a column is ${Math.round(width)} px: "${text.slice(0, 30)}"`);
    }
  }
  for (const el of document.querySelectorAll('main *')) {
    const style = getComputedStyle(el);
    const clips = ['hidden', 'clip'].includes(style.overflowX) || style.textOverflow === 'ellipsis';
    if (clips && el.scrollWidth > el.clientWidth + 1 && el.textContent.trim()) {
      const what = el.textContent.trim().slice(0, 30);
      problems.push(`text is cut: <${el.tagName.toLowerCase()}> "${what}"`);
    }
  }
  return problems;
}"""


def _results() -> tuple[int, str]:
    """A benchmark with a board, a submission with several seeds and long notes, a doc page
    with two revisions, and a badge on the honour roll's leader."""
    benchmark = BenchmarkFactory(
        slug="phone-bench", name="Phone bench", engine_spec="demo-cpu", queue="cpu", seeds=3
    )
    ada = ContributorFactory(login="ada-phone", name="Ada With A Rather Long Display Name")
    shown = None
    for n, scores in enumerate([[2.701, 2.705, 2.699], [2.80, 2.79, 2.81], [2.95]]):
        submission = SubmissionFactory(
            benchmark=benchmark,
            contributor=ada if n == 0 else ContributorFactory(login=f"phone-{n}"),
            source="config",
            status="scored",
            result_attempt=1,
            title="A change with a long descriptive title that wraps",
            finished_at=timezone.now() - timedelta(hours=n),
        )
        submission.mean_val_bpb, submission.std_val_bpb, submission.ci_val_bpb = score_interval(
            scores
        )
        submission.save()
        for seed, score in enumerate(scores):
            EvaluationRunFactory(
                submission=submission,
                seed=seed,
                status="ok",
                val_bits_per_byte=score,
                device="NVIDIA H200",
                error="stopped near the wall-clock cap; the loss was still falling steadily",
            )
        shown = shown or submission
    leaderboard_recompute(benchmark=benchmark)
    award_grant(
        badge=badges_ensure()["leaderboard-record"],
        contributor=ada,
        citation="phone-bench: 2.7017 bpb",
        period_key="phone",
    )
    writer = User.objects.create_user("phone-writer", password="pw-long-enough-1")
    doc_revision_create(user=writer, title="Phone guide", body="One.\nTwo.\n")
    doc_revision_create(user=writer, title="Phone guide", body="One.\nTwo, longer now.\n")
    assert shown is not None
    return shown.pk, benchmark.slug


def test_every_main_page_fits_a_phone(site: Site, browser: Any) -> None:
    _community()
    submission, slug = _results()
    context = browser.new_context(viewport=PHONE)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(f"{site.url}/accounts/signup/")
        page.get_by_label("Username").fill("phone-user")
        page.get_by_label("Password", exact=True).fill("a-long-password-1")
        page.get_by_label(re.compile("Password \\(again\\)")).fill("a-long-password-1")
        page.get_by_role("button", name="Create account").click()
        expect(page.locator("details.menu a", has_text="Your profile")).to_be_attached()
        paths = [
            "/", "/honors/", "/c/ada-phone/", "/c/ada-lovelace/", "/issues/", "/docs/",
            "/docs/phone-guide/", "/docs/phone-guide/history/?from=1&to=2", "/sponsors/",
            f"/leaderboard/{slug}/", "/submissions/", f"/submissions/{submission}/", "/submit/",
            "/account/tokens/",
        ]  # fmt: skip
        found = {}
        for path in paths:
            answer = page.goto(f"{site.url}{path}")
            assert answer is not None and answer.status == 200, path
            problems = page.evaluate(LAYOUT_JS)
            if problems:
                found[path] = problems[:4]
        assert not found, "\n".join(f"{path}: {p}" for path, p in found.items())
    finally:
        context.close()
