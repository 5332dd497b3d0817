"""Bounties on issues: create, move along the allowed states by the right people, pay out.

Who may do what (checked here, so the API, the admin and commands agree):
- create, award, pay, cancel, expire: a maintainer (staff user);
- claim: any signed-in contributor, on an open bounty;
- submit, unclaim: the contributor who claimed it (or a maintainer);
- send back from submitted to claimed: a maintainer.
Every move is recorded as a `BountyEvent`; awarding records a ledger row for the winner.
"""

import csv
import io
import re
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from contrib.errors import DomainError, InvalidError, NotAllowedError
from contrib.ledger import contribution_record
from contrib.models import Bounty, BountyEvent, ContributionSource, Contributor, Issue

State = Bounty.State
CURRENCY = re.compile(r"^[A-Z]{3}$")


class BountyError(DomainError):
    """A bounty action that is not allowed, with the reason a person can act on."""


class BountyNotAllowedError(BountyError, NotAllowedError):
    """The user's role does not allow this bounty action."""


class BountyInvalidError(BountyError, InvalidError):
    """The bounty's state or the values given do not allow it."""


def _contributor_of(user: User) -> Contributor | None:
    return Contributor.objects.filter(user=user).first()


def bounty_create(
    *,
    issue: Issue,
    title: str,
    amount_minor: int,
    currency: str,
    funder: str,
    user: User,
    kind: str = "code",
    expires_at: datetime | None = None,
) -> Bounty:
    """A maintainer puts money on an issue."""
    if not user.is_staff:
        raise BountyNotAllowedError("only maintainers create bounties")
    currency = currency.upper()
    if not CURRENCY.match(currency):
        raise BountyInvalidError(
            f"currency {currency!r} is not an ISO 4217 code such as USD or EUR"
        )
    if amount_minor <= 0:
        raise BountyInvalidError("the amount must be positive (in minor units: cents)")
    with transaction.atomic():
        bounty = Bounty.objects.create(
            issue=issue,
            title=title[:300],
            amount_minor=amount_minor,
            currency=currency,
            funder=funder[:200],
            kind=kind,
            expires_at=expires_at,
        )
        BountyEvent.objects.create(bounty=bounty, to_state=State.OPEN, actor=user, note="created")
    return bounty


def _allowed_actor(bounty: Bounty, to: str, user: User, contributor: Contributor | None) -> None:
    staff = user.is_staff
    if to == State.CLAIMED and bounty.state == State.OPEN:
        if contributor is None:
            raise BountyInvalidError("link your account to a contributor before claiming a bounty")
        return
    if to in (State.SUBMITTED, State.OPEN) and bounty.state == State.CLAIMED:
        mine = contributor is not None and contributor.pk == bounty.claimed_by_id
        if not (mine or staff):
            raise BountyNotAllowedError("only the person who claimed this bounty can do that")
        return
    if not staff:
        raise BountyNotAllowedError("only maintainers can do that")


def bounty_transition(
    *, bounty: Bounty, to: str, user: User, note: str = "", winner: Contributor | None = None
) -> Bounty:
    """Move a bounty to `to` if the state machine and the user's role allow it."""
    with transaction.atomic():
        bounty = Bounty.objects.select_for_update().get(pk=bounty.pk)
        if to not in Bounty.ALLOWED_TRANSITIONS[bounty.state]:
            raise BountyInvalidError(f"a {bounty.state} bounty cannot become {to}")
        contributor = _contributor_of(user)
        _allowed_actor(bounty, to, user, contributor)
        previous = bounty.state
        if to == State.CLAIMED and previous == State.OPEN:
            bounty.claimed_by = contributor
        elif to == State.OPEN:
            bounty.claimed_by = None
        elif to == State.AWARDED:
            bounty.awarded_to = winner or bounty.claimed_by
            if bounty.awarded_to is None:
                raise BountyInvalidError("say who wins the bounty")
            bounty.awarded_at = timezone.now()
            contribution_record(
                contributor=bounty.awarded_to,
                repository=bounty.issue.repository,
                kind=bounty.kind,
                occurred_at=bounty.awarded_at,
                source=ContributionSource.PLATFORM,
                external_id=f"bounty:{bounty.pk}",
                title=f"Bounty: {bounty.title}",
                url=bounty.issue.html_url,
                metadata={"amount_minor": bounty.amount_minor, "currency": bounty.currency},
            )
        bounty.state = to
        bounty.save()
        BountyEvent.objects.create(
            bounty=bounty, from_state=previous, to_state=to, actor=user, note=note[:500]
        )
    return bounty


def bounty_payouts_csv(*, starts_at: datetime, ends_at: datetime) -> str:
    """Awarded bounties of a period as CSV for a fiscal host: one row per payout."""
    rows = (
        Bounty.objects.filter(
            state__in=[State.AWARDED, State.PAID],
            awarded_at__gte=starts_at,
            awarded_at__lt=ends_at,
        )
        .select_related("awarded_to", "issue__repository")
        .order_by("awarded_at", "pk")
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "bounty_id",
            "awarded_at",
            "recipient_login",
            "recipient_github_id",
            "amount",
            "currency",
            "funder",
            "issue",
            "state",
        ]
    )
    for bounty in rows:
        recipient = bounty.awarded_to
        writer.writerow(
            [
                bounty.pk,
                bounty.awarded_at.isoformat() if bounty.awarded_at else "",
                recipient.login if recipient else "",
                recipient.github_id if recipient else "",
                f"{bounty.amount_minor / 100:.2f}",
                bounty.currency,
                bounty.funder,
                f"{bounty.issue.repository.full_name}#{bounty.issue.number}",
                bounty.state,
            ]
        )
    return out.getvalue()
