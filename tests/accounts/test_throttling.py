"""Sign-in throttling: every surface (allauth, the admin, the browsable API's login, API tokens)
counts failures of one client address in one shared store, and a locked-out address is refused
everywhere, with the right password or token too, until the cool-off is over."""

import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth.models import User
from django.test import Client

from accounts.services import api_token_create
from tests.support.processes import platform_env

pytestmark = pytest.mark.django_db
LOCKED = "Too many failed sign-in attempts"


@pytest.fixture
def limit(settings: Any) -> int:
    settings.AXES_FAILURE_LIMIT = 3
    return 3


def unique_ip() -> str:
    """A client address of this test's own, so no other test's failures count here."""
    value = uuid.uuid4().int
    return f"10.{value % 250}.{(value >> 8) % 250}.{(value >> 16) % 250 + 1}"


PASSWORD = "right-password-123"


def person() -> User:
    return User.objects.create_user(
        f"throttle-{uuid.uuid4().hex[:8]}", password=PASSWORD, is_staff=True
    )


def test_failures_on_every_sign_in_page_count_toward_one_lockout(limit: int) -> None:
    user = person()
    client = Client(REMOTE_ADDR=unique_ip())
    wrong = {"username": user.username, "password": "wrong"}
    assert client.post("/admin/login/", wrong).status_code == 200
    assert client.post("/api-auth/login/", wrong).status_code == 200
    allauth = client.post("/accounts/login/", {"login": user.username, "password": "wrong"})
    assert allauth.status_code in (200, 429)

    # The right password, now refused on each surface, with a page that says why.
    right = {"username": user.username, "password": PASSWORD}
    for url, data in [
        ("/admin/login/", right),
        ("/api-auth/login/", right),
        ("/accounts/login/", {"login": user.username, "password": PASSWORD}),
    ]:
        response = client.post(url, data)
        assert response.status_code == 429, url
        assert LOCKED in response.content.decode(), url
    assert "_auth_user_id" not in client.session

    # Another address is not affected: nobody can lock someone else out.
    other = Client(REMOTE_ADDR=unique_ip())
    response = other.post("/admin/login/", right)
    assert response.status_code == 302
    assert other.session["_auth_user_id"] == str(user.pk)


def test_guessing_api_tokens_locks_the_address_out(limit: int) -> None:
    user = person()
    _, key = api_token_create(user=user, name="laptop")
    address = unique_ip()
    client = Client(REMOTE_ADDR=address)
    for attempt in range(limit - 1):
        response = client.get("/api/contributors/", HTTP_AUTHORIZATION=f"Token cru_guess{attempt}")
        assert response.status_code == 401
    # The failure that reaches the limit is answered 429 already, and so is the right key.
    response = client.get("/api/contributors/", HTTP_AUTHORIZATION="Token cru_last_guess")
    assert response.status_code == 429
    response = client.get("/api/contributors/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 429
    assert LOCKED in response.json()["detail"]
    # The same key from another address still works.
    response = Client(REMOTE_ADDR=unique_ip()).get(
        "/api/contributors/", HTTP_AUTHORIZATION=f"Token {key}"
    )
    assert response.status_code == 200
    # And so do the password pages from the locked address: refused.
    wrong = {"username": user.username, "password": PASSWORD}
    assert client.post("/admin/login/", wrong).status_code == 429


def test_forwarded_for_counts_only_behind_a_trusted_proxy(limit: int, settings: Any) -> None:
    user = person()
    wrong = {"username": user.username, "password": "wrong"}
    right = {"username": user.username, "password": PASSWORD}
    attacker = unique_ip()
    # No proxy configured: the header is the client's own word, so varying it changes nothing.
    settings.PROXY_COUNT = 0
    client = Client(REMOTE_ADDR=attacker)
    for _ in range(limit):
        client.post("/admin/login/", wrong, HTTP_X_FORWARDED_FOR=unique_ip())
    assert client.post("/admin/login/", right, HTTP_X_FORWARDED_FOR=unique_ip()).status_code == 429

    # Behind one trusted proxy: the address the proxy appended is the client's.
    settings.PROXY_COUNT = 1
    proxy = unique_ip()
    behind = Client(REMOTE_ADDR=proxy)
    spoofer, honest = unique_ip(), unique_ip()
    for _ in range(limit):
        # What the client wrote first is ignored; the proxy's entry (last) is counted.
        behind.post("/admin/login/", wrong, HTTP_X_FORWARDED_FOR=f"{unique_ip()}, {spoofer}")
    locked = behind.post("/admin/login/", right, HTTP_X_FORWARDED_FOR=spoofer)
    assert locked.status_code == 429
    assert behind.post("/admin/login/", right, HTTP_X_FORWARDED_FOR=honest).status_code == 302


@pytest.fixture
def redis_cache(settings: Any, redis_url: str) -> Iterator[str]:
    """This process's cache on the test Redis, as `CACHE_URL` makes it in every process."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": "crucible",
        }
    }
    AxesProxyHandler.get_implementation(force=True)  # it holds the cache it was made with
    try:
        yield redis_url
    finally:
        del settings.CACHES
        AxesProxyHandler.get_implementation(force=True)


def test_the_count_is_shared_by_every_process_through_redis(limit: int, redis_cache: str) -> None:
    """Failures recorded by another process (another gunicorn worker) lock this one out."""
    redis_url = redis_cache
    address = unique_ip()
    script = (
        "import django;django.setup()\n"
        "from django.conf import settings\n"
        "from django.contrib.auth.signals import user_login_failed\n"
        "from django.test import RequestFactory\n"
        f"settings.AXES_FAILURE_LIMIT={limit}\n"
        f"request=RequestFactory().post('/admin/login/', REMOTE_ADDR={address!r})\n"
        f"for _ in range({limit}):\n"
        "    user_login_failed.send(sender='other-worker', request=request,\n"
        "                           credentials={'username': 'someone'})\n"
        "print(settings.CACHES['default']['BACKEND'])\n"
    )
    env = platform_env(DJANGO_SETTINGS_MODULE="config.settings.test", CACHE_URL=redis_url)
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "RedisCache" in done.stdout
    user = person()
    right = {"username": user.username, "password": PASSWORD}
    response = Client(REMOTE_ADDR=address).post("/admin/login/", right)
    assert response.status_code == 429
    assert LOCKED in response.content.decode()


def test_signing_in_to_ones_own_account_does_not_wipe_the_count(limit: int) -> None:
    """Guess, sign in to an account of one's own, guess again: still locked out at the limit."""
    victim, own = person(), person()
    client = Client(REMOTE_ADDR=unique_ip())
    wrong = {"username": victim.username, "password": "wrong"}
    for _ in range(limit - 1):
        assert client.post("/admin/login/", wrong).status_code == 200
    assert (
        client.post("/admin/login/", {"username": own.username, "password": PASSWORD}).status_code
        == 302
    )
    client.logout()
    assert client.post("/admin/login/", wrong).status_code == 429


def test_an_ipv6_host_cannot_rotate_addresses_within_its_64(limit: int) -> None:
    user = person()
    wrong = {"username": user.username, "password": "wrong"}
    first, second = uuid.uuid4().int.to_bytes(16)[:2]
    prefix = f"2001:db8:{first:x}:{second:x}"
    for n in range(limit):
        Client(REMOTE_ADDR=f"{prefix}::{n + 1:x}").post("/admin/login/", wrong)
    right = {"username": user.username, "password": PASSWORD}
    assert Client(REMOTE_ADDR=f"{prefix}::ffff").post("/admin/login/", right).status_code == 429
    assert Client(REMOTE_ADDR="2001:db8:ffff:1::1").post("/admin/login/", right).status_code == 302


def test_nobody_can_lock_a_chosen_person_out_by_guessing_from_many_addresses(limit: int) -> None:
    """allauth's own per-name limit (5 failures) used to lock the name out from everywhere."""
    victim = person()
    for _ in range(6):
        Client(REMOTE_ADDR=unique_ip()).post(
            "/accounts/login/", {"login": victim.username, "password": "wrong"}
        )
    client = Client(REMOTE_ADDR=unique_ip())
    response = client.post("/accounts/login/", {"login": victim.username, "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(victim.pk)
