"""An in-process fake of the Zalo Bot Platform API for end-to-end tests.

A real uvicorn server on 127.0.0.1 (same event loop as the test) answers
``POST /bot<TOKEN>/<method>`` with Zalo's envelope ``{"ok", "result" | "error_code",
"description"}``, while tests play the users (``user_sends`` ...) and inspect what the bot did
(``sent``, ``calls``).

Delivery of user updates:

* Polling (no webhook set): ``user_sends`` & co. queue the update; each ``getUpdates`` hands
  out ONE queued update (there is no offset: a handed-out update is gone), or answers
  ``408 Request timeout`` after ``min(timeout, max_poll_seconds)`` seconds.
* Webhook (after ``setWebhook``): a background task started by ``start()`` POSTs every queued
  update, in order, to the webhook URL with header ``X-Bot-Api-Secret-Token``; the body is
  wrapped (``{"ok": true, "result": update}``) unless ``push_wrapped`` is False. Updates
  queued before setWebhook are pushed once it is set; getUpdates answers 409 meanwhile. Each
  attempt is recorded in ``deliveries``; a failed one (non-2xx, connection error) is not
  retried. Set ``auto_push = False`` to deliver only when the test awaits ``push_pending()``;
  ``push_raw(payload)`` posts any body as is (malformed, wrong secret ...).

Where things are: ``state.py`` (the queue, what the bot sent, acting as users, waiting for
the bot), ``endpoints.py`` (``FakeZalo``: the HTTP routes, parameter checks and answers, the
webhook pushes, fault injection).

``reset()`` clears all state and knobs, so one started fake can serve a whole test module
(starting/stopping uvicorn costs ~0.2 s per test otherwise).

Errors mirror ``error_code`` as the HTTP status unless a test asks otherwise
(``fail_next(..., http_status=200)`` models Zalo's "HTTP 200 but ok:false"). Descriptions
follow Zalo's error table (bot.zapps.me/docs/error-code/): 400 "Bad request", 401
"Unauthorized", 403 "Internal server error", 404 "Not found", 408 "Request timeout", 429
"Quota exceeded". ``fail_next(method, code, chat_id=…, times=…)`` injects any of them per call;
``quota_left`` makes every send answer 429 once that many went through (a used-up quota, until
set back to None); ``blocked_users`` answer 403 (Zalo documents nothing for them).
``bot_info["can_join_groups"]`` is False, as for ordinary bots; group tests set it True.

Typical use::

    fake = FakeZalo()
    await fake.start()
    api = ZaloApi(fake.token, base_url=fake.base_url)
    fake.user_sends("u1", "xin chào")
    update = await api.get_updates(timeout=1)
    await api.send_message(update.chat_id, "Chào bạn")
    msg = await fake.wait_for("u1", contains="Chào")
"""

from __future__ import annotations

from tests.fakes.zalo.endpoints import MAX_TEXT, SECRET_HEADER, FakeZalo, WebhookDelivery
from tests.fakes.zalo.state import SentZaloMessage

__all__ = ["MAX_TEXT", "SECRET_HEADER", "FakeZalo", "SentZaloMessage", "WebhookDelivery"]
