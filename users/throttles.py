"""Rate limits of the auth endpoints and of the admin login.

The counters live in the default cache (Redis when REDIS_URL is set), so a limit holds across
workers and instances. Rates are `REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]` entries, read on each
request (DRF's own throttles read them once at import, which tests and operators cannot change).
"""

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from novacart.cache import CACHE_ERRORS, log_cache_failure
from novacart.throttling import CacheFailurePolicy, CacheUnavailable


class _SettingsRateThrottle(CacheFailurePolicy, SimpleRateThrottle):
    """Reads its rate from settings on each request (DRF's default reads it once at import),
    and counts per client address whether or not the caller is logged in. Fails closed when its
    counter cannot be kept (novacart/throttling.py) unless a subclass says otherwise."""

    def get_rate(self):
        return settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][self.scope]

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class AuthRateThrottle(_SettingsRateThrottle):
    """Token refresh: every request counts. A capacity limit: fails open."""

    scope = "auth"
    fail_open = True


def client_address(request) -> str:
    """The client address every limit counts by (X-Forwarded-For behind NUM_PROXIES proxies):
    DRF's rule, for DRF requests and for plain Django requests (the admin) alike."""
    return BaseThrottle().get_ident(request) or ""


def account_key(identifier: str) -> str:
    """One key per account however its e-mail is spelled: the login matches e-mails
    case-insensitively, so " Ada@Example.COM" and "ada@example.com" are one account. Hashed: keys
    stay short and the cache holds no e-mail addresses."""
    return hashlib.sha256(identifier.strip().casefold().encode("utf-8", "surrogatepass")).hexdigest()


class _PolicyCache:
    """The cache as a counter sees it, under the policy of novacart/throttling.py: when an operation
    fails, a fail-open counter reads nothing and counts nothing (the request goes on), a fail-closed
    one answers 503 `cache_unavailable` (an uncounted password guess must not go through)."""

    def __init__(self, scope: str, *, fail_open: bool):
        self.scope, self.fail_open = scope, fail_open

    def _failed(self, exc: Exception, neutral):
        log_cache_failure(f"throttle {self.scope}, failing {'open' if self.fail_open else 'closed'}", exc)
        if not self.fail_open:
            raise CacheUnavailable() from exc
        return neutral

    def get_many(self, keys):
        try:
            return cache.get_many(keys)
        except CACHE_ERRORS as exc:
            return self._failed(exc, {})

    def add(self, key, value, timeout):
        try:
            return cache.add(key, value, timeout)
        except CACHE_ERRORS as exc:
            return self._failed(exc, True)

    def incr(self, key, delta):
        try:
            return cache.incr(key, delta)
        except CACHE_ERRORS as exc:
            return self._failed(exc, delta)

    def set(self, key, value, timeout):
        try:
            cache.set(key, value, timeout)
        except CACHE_ERRORS as exc:
            self._failed(exc, None)


class _Counter:
    """Events of one scope for one key, over a sliding window of the scope's rate.

    The window is estimated from two fixed windows (this one, and the last one weighted by how
    much of it the sliding window still covers), each an integer the cache increments atomically:
    concurrent requests on any number of instances are all counted, and no list of timestamps is
    rewritten on every request. A `lock` counter (failed sign-ins) also refuses everything for a
    whole period once it is full, so a lockout cannot end early at a window boundary."""

    timer = staticmethod(time.time)

    def __init__(self, scope: str, ident: str, *, lock: bool = False, fail_open: bool = False):
        self._cache = _PolicyCache(scope, fail_open=fail_open)
        rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope]
        # DRF's reading of "N/period" (a method that does not use its instance).
        self.limit, self.duration = SimpleRateThrottle.parse_rate(None, rate)
        self.key = f"throttle_{scope}_{ident}"
        self.lock = lock
        self._admitted_key: str | None = None

    def _state(self) -> tuple[float, int, int, float, float | None]:
        now = self.timer()
        window = int(now // self.duration)
        current_key, previous_key, lock_key = (f"{self.key}_{window}", f"{self.key}_{window - 1}", f"{self.key}_lock")
        values = self._cache.get_many(
            [current_key, previous_key, lock_key] if self.lock else [current_key, previous_key]
        )
        elapsed = now - window * self.duration
        return now, values.get(current_key, 0), values.get(previous_key, 0), elapsed, values.get(lock_key)

    def _estimate(self, current: int, previous: int, elapsed: float) -> float:
        return current + previous * (1 - elapsed / self.duration)

    def _wait_until_below(self, current: int, previous: int, elapsed: float) -> float:
        """Seconds (at least one) until the estimate falls below the limit, nothing else counted."""
        if current >= self.limit:
            # Only after this window: then `current` is the previous window and fades out.
            wait = (self.duration - elapsed) + self.duration * (1 - self.limit / max(current, 1))
        else:
            wait = self.duration * (1 - (self.limit - current) / previous) - elapsed
        return max(wait, 1.0)

    def wait(self) -> float | None:
        """None when the counter has room, else the seconds until it has."""
        if self.limit is None:
            return None
        now, current, previous, elapsed, locked_until = self._state()
        if locked_until is not None and locked_until > now:
            return locked_until - now
        if self._estimate(current, previous, elapsed) < self.limit:
            return None
        return self._wait_until_below(current, previous, elapsed)

    def hit(self) -> None:
        """Counts one event; a lock counter that is now full locks for a whole period."""
        if self.limit is None:
            return
        now, _, previous, elapsed, _ = self._state()
        current = self._increment(f"{self.key}_{int(now // self.duration)}", 1)
        if self.lock and self._estimate(current, previous, elapsed) >= self.limit:
            self._cache.set(f"{self.key}_lock", now + self.duration, math.ceil(self.duration))

    def admit(self) -> float | None:
        """Counts this event if the counter has room (None), else counts nothing and returns the
        seconds to wait. Incrementing first makes the check atomic: of concurrent events only as
        many as there is room for get in."""
        if self.limit is None:
            return None
        now, _, previous, elapsed, _ = self._state()
        key = f"{self.key}_{int(now // self.duration)}"
        current = self._increment(key, 1)
        if self._estimate(current, previous, elapsed) <= self.limit:
            self._admitted_key = key
            return None
        self._increment(key, -1)
        return self._wait_until_below(current - 1, previous, elapsed)

    def release(self) -> None:
        """Gives back what `admit` counted (another counter refused the same event)."""
        if self._admitted_key is not None:
            self._increment(self._admitted_key, -1)
            self._admitted_key = None

    def _increment(self, key: str, delta: int) -> int:
        # A window's key lives two windows, so it never expires while it is being counted.
        timeout = 2 * self.duration
        if delta > 0 and self._cache.add(key, delta, timeout):
            return delta
        try:
            return self._cache.incr(key, delta)
        except ValueError:  # evicted (or culled) between add and incr: count from here
            self._cache.add(key, max(delta, 0), timeout)
            return max(delta, 0)


def _admit(*, checked: list[_Counter], counted: list[_Counter]) -> float | None:
    """None when the event may go on: no `checked` counter is full and each `counted` one had room
    (and now counts it). Otherwise the longest wait, and nothing is counted."""
    waits = [wait for counter in checked if (wait := counter.wait()) is not None]
    if waits:
        return max(waits)
    admitted = []
    for counter in counted:
        wait = counter.admit()
        if wait is not None:
            for earlier in admitted:
                earlier.release()
            return wait
        admitted.append(counter)
    return None


class SignInLimiter:
    """The one rule for every password sign-in: `/api/token/`, `/api/auth/login/` and the admin
    login. Failed attempts count per client address (`login`) and per account (`login_account`);
    once either is full every attempt is refused, the right password too, until the period passes.
    Every attempt, failed or not, also counts per address and per account (`login_attempt`,
    `login_attempt_account`, generous rates): each one costs a password hash."""

    def __init__(self, request, *, email: str | None):
        address = client_address(request)
        account = account_key(email) if isinstance(email, str) and email.strip() else None
        # Failures guard against guessing: uncounted they must stop sign-ins (fail closed). Attempts
        # guard capacity (a password hash each): uncounted they let the sign-in go on (fail open).
        self._failures = [_Counter("login", address, lock=True)]
        self._attempts = [_Counter("login_attempt", address, fail_open=True)]
        if account is not None:
            self._failures.append(_Counter("login_account", account, lock=True))
            self._attempts.append(_Counter("login_attempt_account", account, fail_open=True))

    def admit(self) -> float | None:
        """None when this attempt may check the password (and now counts as one); else the
        seconds to wait, and the refused attempt counts nowhere."""
        return _admit(checked=self._failures, counted=self._attempts)

    def record_failure(self) -> None:
        for counter in self._failures:
            counter.hit()


def _submitted(request, field: str) -> str | None:
    """A string field of the JSON body, or None (not a JSON object, missing, not a string)."""
    data = request.data
    value = data.get(field) if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


class _CounterThrottle(CacheFailurePolicy, BaseThrottle):
    """A DRF throttle made of counters: `checked` ones refuse when full without counting the
    request, `counted` ones count every request they let through. Fails closed unless `fail_open`
    (novacart/throttling.py); its counters are made with the same policy."""

    def checked(self, request, view) -> list[_Counter]:
        return []

    def counted(self, request, view) -> list[_Counter]:
        return []

    def allow_request(self, request, view):
        self._wait = _admit(checked=self.checked(request, view), counted=self.counted(request, view))
        return self._wait is None

    def wait(self):
        return self._wait


class SignInThrottle(CacheFailurePolicy, BaseThrottle):
    """`/api/token/` and `/api/auth/login/`: SignInLimiter for the e-mail in the body. The views
    call `record_failure` when the password was wrong."""

    def allow_request(self, request, view):
        self._wait = self.limiter(request).admit()
        return self._wait is None

    def wait(self):
        return self._wait

    @staticmethod
    def limiter(request) -> SignInLimiter:
        return SignInLimiter(request, email=_submitted(request, "email"))

    @classmethod
    def record_failure(cls, request, view=None) -> None:
        cls.limiter(request).record_failure()


class PasswordChangeThrottle(_CounterThrottle):
    """Change-password: wrong current passwords count per user (any session, any address); once
    the count is full even the right one waits. The view calls `record_failure`."""

    @staticmethod
    def _counter(user) -> _Counter:
        return _Counter("password_change", f"user{user.pk}", lock=True)

    def checked(self, request, view):
        return [self._counter(request.user)]

    @classmethod
    def record_failure(cls, request) -> None:
        cls._counter(request.user).hit()


class AddressAndEmailThrottle(_CounterThrottle):
    """A request that mails an address given in the body: every one counts per client address
    (`address_scope`) and per that e-mail however it is spelled (`email_scope`), so nobody can
    mail-bomb an address from many client addresses. Fails closed."""

    address_scope = ""
    email_scope = ""

    def counted(self, request, view):
        counters = [_Counter(self.address_scope, client_address(request))]
        email = _submitted(request, "email")
        if email is not None and email.strip():
            counters.append(_Counter(self.email_scope, account_key(email)))
        return counters


class PasswordResetRequestThrottle(AddressAndEmailThrottle):
    """Reset requests: per client address (`password_reset`) and per target e-mail
    (`password_reset_email`)."""

    address_scope = "password_reset"
    email_scope = "password_reset_email"


class PasswordResetConfirmThrottle(_CounterThrottle):
    """Reset confirmations, a scope of their own (`password_reset_confirm`) keyed by the link being
    confirmed and the client address: reset requests, or confirmations of other (forged) links,
    cannot use up the confirmations of a real link. A link is 128 random bits, guessing one is
    hopeless; this bounds retries of one link (e.g. a new password the validators refuse)."""

    def counted(self, request, view):
        link = f"{_submitted(request, 'uid')}:{_submitted(request, 'token')}:{client_address(request)}"
        return [_Counter("password_reset_confirm", hashlib.sha256(link.encode("utf-8", "surrogatepass")).hexdigest())]


class RegisterThrottle(_CounterThrottle):
    """Registration, per client address (`register`): every attempt counts. Registration answers
    `email_taken` for a registered address (the contract; a shop front must tell the customer to
    sign in instead), so this limit is what stops it from listing who has an account. A capacity
    limit like the others of novacart/throttling.py: fails open. The verification mail it sends
    does not change that: an address gets it once (registering it again is `email_taken`), so no
    mailbox can be flooded through here; the resend, which could, fails closed."""

    fail_open = True

    def counted(self, request, view):
        return [_Counter("register", client_address(request), fail_open=self.fail_open)]


class EmailVerificationResendThrottle(_CounterThrottle):
    """Verification mails asked for again, per user (`email_verification_resend`), every request
    counted. Fails closed like the reset mails: the account's address may be someone else's,
    registered to flood that mailbox from here."""

    def counted(self, request, view):
        return [_Counter("email_verification_resend", f"user{request.user.pk}")]
