"""What a social post goes through, shared by the channels that post (X, the Facebook Page).

A post is made once per article, not once per revision (like mail, ADR 0004): fixing a typo
must not post the news again. What follows a post is explicit:

* a revision with a new ``change_note`` answers the post (a reply on X, a comment on Facebook)
  quoting the note; the note's hash is in the key, so the same note is never answered twice;
* a withdrawn article deletes its post.

Targets are ``post``, ``note-<hash>`` and ``delete``; the revision part of every key is
``once``. Planning stays pure: the id of the post being answered or deleted comes from the
ledger through ``FollowUpContext.provider_refs``, which the pipeline fills for the
articles ``follows_up`` names.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import replace

from koho.article import Article
from koho.channel import FollowUpContext
from koho.delivery import Delivery, Receipt
from koho.payloads import ApiRequest, RecordOnly

ONCE = "once"
POST = "post"
DELETE = "delete"
NOTE_PREFIX = "note-"
JSON = "application/json"
COVERED = "the post was made after this change note"


def note_target(note: str) -> str:
    """``note-<hash>``: one answer per distinct change note."""
    return NOTE_PREFIX + hashlib.sha256(note.encode("utf-8")).hexdigest()[:12]


def answers_or_deletes(article: Article) -> bool:
    """Whether planning ``article`` answers or deletes its post, and so needs the post's id: a
    posting channel's ``FollowsUp.follows_up``."""
    return article.withdrawn or bool(article.change_note)


def plan_post_lifecycle(
    channel: str,
    article: Article,
    ctx: FollowUpContext,
    post: Callable[[], ApiRequest],
    answer: Callable[[str], ApiRequest],
    delete: Callable[[str], ApiRequest],
) -> list[Delivery]:
    """The deliveries of one article on a posting channel, given request builders.

    ``post()`` is the request that creates the post, ``answer(post_id)`` the one that answers it
    with the change note, ``delete(post_id)`` the one that deletes it (both with ``refers_to``
    the post id). A post id is the provider reference of the sent ``post`` delivery; before that
    exists there is nothing to answer or delete.
    """
    posted = ctx.provider_refs.get(POST)

    def delivery(target: str, payload: ApiRequest | RecordOnly) -> Delivery:
        return Delivery(channel, target, article.id, ONCE, article.language, payload, JSON)

    if article.withdrawn:
        # The post, and every copy reconciliation found (a post made twice before koho knew).
        ids = ([posted] if posted else []) + [
            ref for target, ref in sorted(ctx.provider_refs.items()) if target.startswith(POST + "+")
        ]
        return [delivery(DELETE if i == 0 else f"{DELETE}+{pid}", delete(pid)) for i, pid in enumerate(ids)]
    out = [delivery(POST, post())]
    if article.change_note:
        target = note_target(article.change_note)
        if posted:
            out.append(delivery(target, answer(posted)))
        else:
            # The post is not out yet, so it will carry the corrected text: an answer would only
            # repeat it. Recording the note as covered keeps a later revision from answering it.
            out.append(delivery(target, RecordOnly(COVERED)))
    return out


def request_of(delivery: Delivery) -> ApiRequest:
    """The API request a posting channel's delivery carries (TypeError for anything else: a
    record-only row never reaches a client)."""
    if not isinstance(delivery.payload, ApiRequest):
        raise TypeError(f"{delivery.key}: carries {type(delivery.payload).__name__}, not an API request")
    return delivery.payload


def send_in_order(
    batch: Sequence[Delivery], send: Callable[[Delivery, ApiRequest], Receipt], limiter: str
) -> list[Receipt]:
    """Send each delivery's request one by one with ``send``; record-only rows (notes the post
    already covers) are skipped with their reason.

    Once the provider says when its rate limit ends (a transient receipt with ``retry_after``),
    the rest of the batch is not tried: it would be refused too, and each refusal counts.
    """
    receipts: list[Receipt] = []
    for index, delivery in enumerate(batch):
        if isinstance(delivery.payload, RecordOnly):
            receipts.append(Receipt.skipped(delivery.key, delivery.payload.reason))
            continue
        receipt = send(delivery, request_of(delivery))
        receipts.append(receipt)
        if receipt.retry and receipt.retry_after:
            receipts += [
                Receipt.transient(d.key, f"not tried: waiting for {limiter} to end", receipt.retry_after)
                for d in batch[index + 1 :]
            ]
            break
    return receipts


def unanswered(key: str, exc: Exception, provider: str) -> Receipt:
    """The receipt for an HTTP request that got no answer.

    If the connection never opened, nothing reached the provider: transient, retried. Once the
    request was sent (a read timeout, the connection dropped before the reply), the post may
    exist: uncertain, so a later run looks for it before posting again, never posting twice.
    """
    import requests

    if isinstance(exc, requests.ConnectTimeout) or _never_connected(exc):
        return Receipt.transient(key, f"{provider} unreachable: {type(exc).__name__}")
    return Receipt.uncertain(
        key, f"{provider} did not answer after the request was sent ({type(exc).__name__}); checked before any resend"
    )


def _never_connected(exc: BaseException | None) -> bool:
    # requests wraps urllib3's NewConnectionError (refused, DNS) in ConnectionError; anything
    # else under ConnectionError (a reset, a remote close) happened after the request left.
    from urllib3.exceptions import NameResolutionError, NewConnectionError

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (NewConnectionError, NameResolutionError, ConnectionRefusedError)):
            return True
        reason = getattr(exc, "reason", None)
        exc = (
            reason
            if isinstance(reason, BaseException)
            else (
                exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else exc.__cause__ or exc.__context__
            )
        )
    return False


def match_posts(
    batch: Sequence[Delivery], posts: Sequence[tuple[str, str]], text_of: Callable[[ApiRequest], str], provider: str
) -> list[Receipt]:
    """Reconcile uncertain deliveries with the provider's recent posts ``(id, text)``, newest
    first: a post whose text matches is what the lost answer would have named (``sent`` with its
    id; extra copies are named in the detail so an operator can delete them). Deletions are
    left to be sent again: deleting twice is harmless (an already deleted post is skipped)."""
    receipts = []
    for delivery in batch:
        request = delivery.payload
        if not isinstance(request, ApiRequest) or request.method == "DELETE":
            continue
        wanted = " ".join(text_of(request).split())
        found = [pid for pid, text in posts if " ".join((text or "").split()) == wanted]
        if found:
            oldest, *more = found[::-1]  # posts come newest first
            extra = f"; {len(more)} more copies recorded" if more else ""
            receipts.append(
                replace(
                    Receipt.sent(delivery.key, oldest, f"found on {provider} after a lost answer{extra}"),
                    also=tuple(more),
                )
            )
    return receipts
