"""What a failed request says: the provider's own words, located and made safe to print.

`ErrorText` is the part of the `Provider` base that words failures: apply and every
command print `error_message(exc)`; an adapter may reuse `credentials_hint` in its own
messages (Metered does, for a refused key).
"""

from __future__ import annotations

from typing import Any, ClassVar

from reconcile import envref, redact
from reconcile.declared import AccountConfig
from reconcile.engine.http import HttpError, TransportError
from reconcile.escape import printable
from reconcile.providers import provider_models


class ErrorText:
    type: ClassVar[str]
    account: AccountConfig

    def error_message(self, exc: HttpError | TransportError) -> str:
        """The provider's own words for a failure, read from the common error shapes, with
        the account's credentials masked (an API may quote the key it refused) and every
        control character escaped (it is the provider's text)."""
        message = str(exc) if isinstance(exc, TransportError) else \
            f"{exc.status}: {_message_in(exc.body) or 'no message'}"
        if isinstance(exc, HttpError) and exc.status in (401, 403):
            message += f"; {self.credentials_hint()}"
        if isinstance(exc, HttpError) and exc.status == 404:
            message += self.missing_segment()
        forms = redact.secret_forms(self.account.secrets.values())
        return printable(redact.scrub(message, forms))

    def missing_segment(self) -> str:
        """After a 404: whether `endpoint` lacks the segment that stands for a locator, as
        `http://127.0.0.1:8787/signalwire` lacks the space of `…/signalwire/acme`."""
        endpoint = (self.account.settings.endpoint or "").rstrip("/")
        for name in provider_models(self.type).locators() if endpoint else ():
            value = getattr(self.account.settings, name)
            if not endpoint.endswith(f"/{value}"):
                return (f"; the endpoint {endpoint} lacks the account's /<{name}> segment:"
                        f" write `endpoint: {endpoint}/{value}`")
        return ""

    def credentials_hint(self) -> str:
        """After a 401 or 403: the account refused, where it is declared, and the
        environment variables its credentials come from, to check."""
        credentials = getattr(self.account.settings, "credentials", None)
        values = credentials.model_dump().values() if credentials is not None else ()
        variables = [name for value in values if isinstance(value, str)
                     for name in envref.names(value)]
        unique = list(dict.fromkeys(variables))
        where = f"the credentials of account `{self.account.alias}` ({self.account.location})"
        if not unique:
            return f"check {where}"
        what = " and ".join([", ".join(unique[:-1]), unique[-1]] if len(unique) > 1 else unique)
        return f"check {what}, {where}"


def _message_in(body: Any) -> str:
    """`message`, `detail` or `error` of a JSON error body, or of its first `errors` item."""
    if isinstance(body, str):
        return body.strip()[:300]
    if not isinstance(body, dict):
        return ""
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        body = errors[0]
    for key in ("detail", "message", "title", "error"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
    return ""
