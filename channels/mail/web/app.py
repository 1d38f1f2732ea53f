"""The info-mail subscription service (``koho serve``): a FastAPI app over the subscriber store.

Routes, relative to the public base ``KOHO_MAIL_WEB_URL`` (default ``<site>/mail/``), which is
also where the links in mails point (``Identity.link``):

    GET  /                          sign-up form
    POST /                          sign-up: always the same "mail sent" page
    GET  /confirm/{token}           a button; POST confirms (mail scanners prefetch GET links)
    GET  /preferences/{token}       topics, language, delivery; POST saves, or unsubscribes
    GET  /unsubscribe/{token}       a button; POST unsubscribes
    GET  /one-click/{token}         as /unsubscribe; POST is RFC 8058 one-click unsubscribe
    GET  /static/style.css
    POST /sns                       SES bounces and complaints delivered by Amazon SNS

State changes only on POST. The answer to a sign-up never tells whether the address was
known, in its bytes or its time: it is given before the sign-up is carried out (``signups``);
see ``confirm_mail`` for what is mailed to whom. Pages speak Japanese or a language of
KOHO_LANGUAGES, chosen per request (``language``: the form's hidden ``lang``, ``?lang=``, the
subscriber's own, Accept-Language); sign-up mails speak the one chosen on the form.
Unsubscribed addresses are erased after ``KOHO_MAIL_RETENTION_DAYS`` by ``Retention``, which
runs at start-up and then once a day.
``/sns`` trusts only the topics in ``KOHO_MAIL_SNS_TOPIC_ARNS`` (none set: it refuses everything).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, Form, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import Scope

from channels.mail.message import identity_for
from channels.mail.sns import SnsVerifier, handle_sns
from channels.mail.transports import MailTransport, forget_recipients, transport_factory
from channels.mail.web.confirm_mail import MAIL_INTERVAL, Mailer
from channels.mail.web.language import N_, Languages, edition
from channels.mail.web.limits import RateLimits, client_address
from channels.mail.web.middleware import Guard
from channels.mail.web.signups import Signup, Signups
from koho.i18n import tag, words
from koho.ledger import Ledger, utcnow
from koho.settings import Settings
from koho.site import load_site
from koho.subscribers import (
    DELIVERIES,
    LANGUAGES,
    AddressError,
    NewSubscriber,
    Subscriber,
    SubscriberStore,
    normalise_address,
)
from koho.tokens import CONFIRM_VALID, TokenError, Tokens

log = logging.getLogger("koho.web")

TEMPLATES = resources.files("channels.mail.web") / "templates"
#: States in which a subscription is alive: it can be confirmed, changed or ended.
LIVE = ("pending", "confirmed")
DAY = timedelta(days=1)
#: SNS caps a message at 256 KiB and its JSON envelope escapes it again (every quote of SES's
#: JSON becomes \"), so a bounce with the original headers can exceed 256 KiB on the wire.
SNS_MAX_BODY = 512 * 1024
#: How each ``koho.subscribers.DELIVERIES`` choice reads on the form and the pages (msgids).
DELIVERY_LABELS = {
    "immediate": N_("記事ごとにすぐ受け取る"),
    "digest": N_("区報の発行日にまとめて受け取る（緊急のお知らせはすぐに届きます）"),
}
ERROR_TITLES = {
    404: N_("ページが見つかりません"),
    405: N_("この操作はできません"),
    413: N_("送信された内容が大きすぎます"),
    500: N_("エラーが発生しました"),
}
OTHER_ERROR = N_("リクエストを処理できません")


class Retention:
    """Erases unsubscribed addresses kept longer than the retention period (and lapsed sign-ups)."""

    def __init__(
        self,
        store: SubscriberStore,
        days: int,
        clock: Callable[[], datetime],
        forget: Callable[[list[int]], object] = lambda ids: None,
    ):
        self.store, self.days, self.clock = store, days, clock
        self._forget = forget

    def run_once(self) -> int:
        """Erase what is due now (and the outbox's mails to them); return how many addresses."""
        erased = self.store.erase_expired(timedelta(days=self.days), now=self.clock())
        self._forget(erased)
        log.info("retention: erased %d address(es) kept longer than %d days", len(erased), self.days)
        return len(erased)

    async def every(self, period: timedelta) -> None:
        """Run now and then every ``period`` until cancelled; a failed run waits for the next."""
        while True:
            try:
                await run_in_threadpool(self.run_once)
            except Exception as exc:  # noqa: BLE001  the database may be back tomorrow
                log.error("retention run failed: %s", type(exc).__name__)
            await asyncio.sleep(period.total_seconds())


class LinkRefused(Exception):
    """A token that is forged, altered, for another purpose, expired, or names nobody."""

    def __init__(self, purpose: str, expired: bool):
        super().__init__(purpose)
        self.purpose, self.expired = purpose, expired


async def _raw_body(request: Request) -> bytes:
    # SNS signs the envelope as sent: the route needs the bytes, not a parsed model.
    return await request.body()


def create_app(
    settings: Settings,
    *,
    clock: Callable[[], datetime] | None = None,
    transport: MailTransport | None = None,
    sns_verifier: SnsVerifier | None = None,
) -> FastAPI:
    """The subscription service for ``settings``.

    Everything that can be misconfigured (site settings, secret, mail transport URL, database)
    is checked here, so ``koho serve`` fails before it listens. ``clock`` (aware UTC now), an
    open ``transport`` and an ``sns_verifier`` can be injected; by default the transport comes
    from KOHO_MAIL_URL and the verifier fetches certificates only from SNS over HTTPS and
    accepts only the topics of KOHO_MAIL_SNS_TOPIC_ARNS.
    """
    site = load_site(settings.content_dir)
    identity = identity_for(settings, site)
    tokens = Tokens(settings.secret())
    opener = (lambda: transport) if transport is not None else transport_factory(settings.mail_url, Path.cwd())
    clock = clock or utcnow
    # Each language by its own name; offered are the original's and those the deployment translates
    # into (mail in any other language would never come). Pages speak the same ones.
    names = {code: words(code).endonym for code in LANGUAGES}
    translated = settings.target_languages()
    offered = {code: name for code, name in names.items() if code == site.language or code in translated}
    ui = Languages(offered, site.language, TEMPLATES)
    ledger = Ledger(settings.db_url())
    store = SubscriberStore(ledger.engine)
    mailer = Mailer(opener, identity, tokens, site, ui, clock, owns_transport=transport is None)
    limits = RateLimits(ledger.engine, settings.secret(), clock)
    signups = Signups(store, limits, mailer)
    proxy_header = settings.mail_trusted_proxy_header.strip()
    retention = Retention(
        store,
        settings.mail_retention_days,
        clock,
        forget=lambda ids: forget_recipients(settings.mail_url, Path.cwd(), ids),
    )
    verifier = sns_verifier if sns_verifier is not None else SnsVerifier(settings.sns_topic_arns())
    prefix = urlsplit(identity.web_url).path.rstrip("/")
    # With one language there is nothing to switch to: no switcher, no ?lang= and no hidden field,
    # so a Japanese-only deployment serves the very pages it served before translations.
    switcher = list(offered.items()) if len(offered) > 1 else []
    common = dict(
        list_name=identity.from_name,
        from_address=identity.from_address,
        site=site,
        base=prefix,
        languages=offered,
        tags={code: tag(code) for code in LANGUAGES},
        confirm_days=CONFIRM_VALID.days,
        retry_minutes=int(MAIL_INTERVAL.total_seconds() // 60),
    )
    stylesheet = (TEMPLATES / "style.css").read_bytes()

    def render(lang: str, name: str, **values: Any) -> str:
        gettext = ui.gettext(lang)
        sticky = f"?lang={lang}" if switcher else ""  # links to the form keep the page's language
        hidden = Markup('<input type="hidden" name="lang" value="{}">').format(lang) if switcher else ""
        return (
            ui.env(lang)
            .get_template(name)
            .render(
                {
                    **common,
                    "lang": lang,
                    "lang_tag": tag(lang),
                    "form_url": f"{prefix}/{sticky}",
                    "lang_field": hidden,
                    "versions": [
                        dict(name=name, hreflang=tag(code), href=f"?lang={code}", current=code == lang)
                        for code, name in switcher
                    ],
                    "topics": site.topics_in(lang),
                    "deliveries": {d: gettext(DELIVERY_LABELS[d]) for d in DELIVERIES},
                    **edition(site, lang),
                    **values,
                }
            )
        )

    def page(
        lang: str, name: str, status: int = 200, headers: Mapping[str, str] | None = None, **values: Any
    ) -> HTMLResponse:
        # no-store (middleware) keeps caches out; Vary says the answer depends on the header anyway.
        return HTMLResponse(
            render(lang, name, status=status, **values),
            status_code=status,
            headers={**(headers or {}), "vary": "accept-language"},
        )

    def error_page(lang: str, status: int, headers: Mapping[str, str] | None = None) -> HTMLResponse:
        title = ui.gettext(lang)(ERROR_TITLES.get(status, OTHER_ERROR))
        return page(lang, "error.html", status, headers, title=title)

    def page_language(request: Request, posted: str = "", subscriber: Subscriber | None = None) -> str:
        """The page's language: the form's hidden field, ``?lang=``, the subscriber's own,
        Accept-Language, Japanese. Kept in the request's state for the error pages."""
        lang = ui.choose(
            (posted, request.query_params.get("lang"), subscriber.language if subscriber else None),
            request.headers.get("accept-language"),
        )
        request.state.language = lang
        return lang

    def known_language(request: Request) -> str:
        # What the route chose if it got that far (form field, subscriber), else what the request says.
        return getattr(request.state, "language", None) or page_language(request)

    def guard_page(status: int, scope: Scope) -> bytes:
        # 413 before the app runs, 500 after a route failed: the same state as the handlers read.
        return bytes(error_page(known_language(Request(scope)), status).body)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if verifier.topic_arns == frozenset():
            log.info("KOHO_MAIL_SNS_TOPIC_ARNS is not set: POST /sns refuses every SES notification")
        erasing = asyncio.create_task(retention.every(DAY))
        try:
            yield
        finally:
            erasing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await erasing
            await run_in_threadpool(signups.close)  # queued sign-ups still get their mail
            await run_in_threadpool(mailer.close)
            ledger.close()

    app = FastAPI(title=identity.from_name, lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(
        Guard, prefix=prefix, error_page=guard_page, limits={"/sns": SNS_MAX_BODY}, base_url=identity.web_url
    )
    app.router.redirect_slashes = False  # Starlette's redirects trust the Host header
    app.state.store, app.state.mailer, app.state.retention = store, mailer, retention
    app.state.signups = signups
    app.state.tokens, app.state.identity = tokens, identity

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> HTMLResponse:
        return error_page(known_language(request), exc.status_code, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, _exc: RequestValidationError) -> HTMLResponse:
        return error_page(known_language(request), 400)

    @app.exception_handler(LinkRefused)
    async def refused(request: Request, exc: LinkRefused) -> HTMLResponse:
        return page(known_language(request), "link_refused.html", status=400, purpose=exc.purpose, expired=exc.expired)

    def resolve(request: Request, purpose: str, token: str, posted: str = "") -> tuple[Subscriber, str]:
        """The token's subscriber and the page's language (theirs unless another is asked for)."""
        page_language(request, posted)  # a refused link's page speaks what the request asks for
        try:
            sid, generation = tokens.check(purpose, token)
        except TokenError as exc:
            raise LinkRefused(purpose, exc.expired) from None
        subscriber = store.get(sid)
        # Signed with our secret, but for a row that is not here, or for an earlier subscription
        # of it (ended, or signed up again since): the same page as a forged link.
        if (
            subscriber is None
            or not subscriber.link_nonce
            or not hmac.compare_digest(subscriber.link_nonce.encode(), generation.encode())
        ):
            raise LinkRefused(purpose, expired=False)
        return subscriber, page_language(request, posted, subscriber)

    def choice_errors(
        gettext: Callable[[str], str],
        topics: Sequence[str],
        language: str,
        delivery: str,
        languages: dict[str, str] = offered,
    ) -> dict[str, str]:
        errors = {}
        if not topics:
            errors["topics"] = gettext("受け取る分野を1つ以上選んでください。")
        elif not set(topics) <= set(site.topics):
            errors["topics"] = gettext("選べない分野が含まれています。一覧から選んでください。")
        if language not in languages:
            errors["language"] = gettext("選べない言語です。一覧から選んでください。")
        if delivery not in DELIVERIES:
            errors["delivery"] = gettext("選べない受け取り方です。一覧から選んでください。")
        return errors

    def labels(subscriber: Subscriber, lang: str) -> list[str]:
        named = site.topics_in(lang)
        return [named.get(t, t) for t in subscriber.topics]

    @app.get("/static/style.css", include_in_schema=False)
    def style() -> Response:
        return Response(stylesheet, media_type="text/css", headers={"cache-control": "public, max-age=86400"})

    @app.get("/")
    def signup_form(request: Request) -> HTMLResponse:
        lang = page_language(request)  # the mail's language defaults to the page's
        return page(lang, "signup.html", errors={}, address="", chosen=[], language=lang, delivery=DELIVERIES[0])

    @app.post("/")
    def signup(
        request: Request,
        address: Annotated[str, Form()] = "",
        topics: Annotated[tuple[str, ...], Form()] = (),
        language: Annotated[str, Form()] = "",
        delivery: Annotated[str, Form()] = DELIVERIES[0],
        lang: Annotated[str, Form()] = "",
    ) -> HTMLResponse:
        # The answer depends on the request alone, never on the address: the same bytes, and the
        # same work before them, for all.
        shown_in = page_language(request, lang)
        gettext = ui.gettext(shown_in)
        language = language or shown_in
        errors: dict[str, str] = {}
        shown = key = ""
        if not address.strip():
            errors["address"] = gettext("メールアドレスを入力してください。")
        else:
            try:
                shown, key = normalise_address(address)
            except AddressError:
                errors["address"] = gettext("メールアドレスの形式が正しくありません（例: taro@example.jp）。")
        errors.update(choice_errors(gettext, topics, language, delivery))
        if errors:
            return page(
                shown_in,
                "signup.html",
                status=400,
                errors=errors,
                address=address[:320],
                chosen=topics,
                language=language,
                delivery=delivery,
            )
        # Answer first, work after: limits, the database and the mail depend on the address's
        # state, and the time they take must not show in the answer (``signups``).
        client = client_address(request.client.host if request.client else None, request.headers, proxy_header)
        signups.submit(Signup(NewSubscriber(shown, key, tuple(topics), language, delivery=delivery), client, language))
        return page(shown_in, "sent.html")

    @app.get("/confirm/{token}")
    def confirm_page(request: Request, token: str) -> HTMLResponse:
        subscriber, lang = resolve(request, "confirm", token)
        if subscriber.state == "pending":
            return page(
                lang,
                "confirm.html",
                chosen=labels(subscriber, lang),
                language=names.get(subscriber.language, ""),
                delivery=ui.gettext(lang)(DELIVERY_LABELS.get(subscriber.delivery, "")),
            )
        return confirmed_or_inactive(subscriber, lang)

    @app.post("/confirm/{token}")
    def confirm(request: Request, token: str, lang: Annotated[str, Form()] = "") -> HTMLResponse:
        subscriber, lang = resolve(request, "confirm", token, lang)
        if store.set_state(subscriber.id, "confirmed", only_from=("pending",)):
            log.info("subscriber %s confirmed", subscriber.id)
            subscriber = store.get(subscriber.id) or subscriber
        return confirmed_or_inactive(subscriber, lang)

    def confirmed_or_inactive(subscriber: Subscriber, lang: str) -> HTMLResponse:
        # A second click says "done" again; an old link never revives an ended subscription.
        if subscriber.state == "confirmed":
            return page(lang, "confirmed.html")
        return page(lang, "inactive.html")

    @app.get("/preferences/{token}")
    def preferences_page(request: Request, token: str) -> HTMLResponse:
        subscriber, lang = resolve(request, "preferences", token)
        if subscriber.state not in LIVE:
            return page(lang, "inactive.html")
        return page(
            lang,
            "preferences.html",
            errors={},
            chosen=list(subscriber.topics),
            language=subscriber.language,
            delivery=subscriber.delivery,
            languages=choosable(subscriber),
        )

    def choosable(subscriber: Subscriber) -> dict[str, str]:
        """The offered languages, and the subscriber's own if it is no longer offered: saving
        other choices must not change their language behind their back."""
        return {code: name for code, name in names.items() if code in offered or code == subscriber.language}

    @app.post("/preferences/{token}")
    def preferences(
        request: Request,
        token: str,
        topics: Annotated[tuple[str, ...], Form()] = (),
        language: Annotated[str, Form()] = site.language,
        delivery: Annotated[str, Form()] = DELIVERIES[0],
        action: Annotated[str, Form()] = "save",
        lang: Annotated[str, Form()] = "",
    ) -> HTMLResponse:
        # The page stays in the language it was shown in, even when the mail's language changes.
        subscriber, lang = resolve(request, "preferences", token, lang)
        if subscriber.state not in LIVE:
            return page(lang, "inactive.html")
        if action == "unsubscribe":
            return unsubscribe_now(subscriber, lang)
        gettext = ui.gettext(lang)
        errors = choice_errors(gettext, topics, language, delivery, choosable(subscriber))
        if errors:
            return page(
                lang,
                "preferences.html",
                status=400,
                errors=errors,
                chosen=topics,
                language=language,
                delivery=delivery,
                languages=choosable(subscriber),
            )
        store.set_preferences(subscriber.id, topics, language, delivery)
        named = site.topics_in(lang)
        return page(
            lang,
            "saved.html",
            chosen=[named[t] for t in named if t in topics],
            language=names.get(language, language),
            delivery=gettext(DELIVERY_LABELS[delivery]),
        )

    @app.get("/unsubscribe/{token}")
    @app.get("/one-click/{token}")
    def unsubscribe_page(request: Request, token: str) -> HTMLResponse:
        subscriber, lang = resolve(request, "unsubscribe", token)
        return page(lang, "unsubscribe.html" if subscriber.state in LIVE else "unsubscribed.html")

    @app.post("/unsubscribe/{token}")
    def unsubscribe(request: Request, token: str, lang: Annotated[str, Form()] = "") -> HTMLResponse:
        return unsubscribe_now(*resolve(request, "unsubscribe", token, lang))

    @app.post("/one-click/{token}")
    def one_click(request: Request, token: str) -> HTMLResponse:
        # RFC 8058: the body is "List-Unsubscribe=One-Click". It is not read at all (no form
        # field here): the signed token alone proves the link came from a mail to this
        # subscriber, and a mail provider's POST must never fail on how its body is encoded.
        return unsubscribe_now(*resolve(request, "unsubscribe", token))

    def unsubscribe_now(subscriber: Subscriber, lang: str) -> HTMLResponse:
        # Suppressed stays suppressed: it is kept (never erased) so the address is never mailed.
        if store.set_state(subscriber.id, "unsubscribed", only_from=LIVE):
            log.info("subscriber %s unsubscribed", subscriber.id)
        return page(lang, "unsubscribed.html")

    # -- SNS bounce and complaint notifications -------------------------------------------------
    # SNS, not a person, calls this: a plain-text answer whose status it acts on (5xx: it delivers
    # again), never the HTML pages. handle_sns logs subscriber ids, never addresses.

    @app.post("/sns", include_in_schema=False)
    def sns(
        body: Annotated[bytes, Depends(_raw_body)],
        message_type: Annotated[str | None, Header(alias="x-amz-sns-message-type")] = None,
    ) -> Response:
        result = handle_sns(body, message_type, store, verifier, now=clock)
        return PlainTextResponse(result.outcome, status_code=result.status)

    return app
