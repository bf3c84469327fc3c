"""Tests for bot/adapters/zalo_api.py, driven against the fake server in tests/fakes/zalo/."""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.adapters.zalo_api import (
    MAX_TEXT,
    ZaloApi,
    ZaloApiError,
    ZaloUpdate,
    parse_update,
    split_for_zalo,
)
from tests.fakes.server import InLoopServer
from tests.fakes.zalo import SECRET_HEADER, FakeZalo

# Unclosed sockets, un-awaited coroutines and the like fail the test.
pytestmark = pytest.mark.filterwarnings("error")

USER = "6ede9afa66b88fe6d6a9"
GROUP = "grp-0000000000000001"
SECRET = "s3cret-webhook-token"


# One server for the whole module (starting and stopping uvicorn costs ~0.2 s), reset
# before each test; async tests and fixtures therefore share the module's event loop.
on_module_loop = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_fake() -> AsyncIterator[FakeZalo]:
    server = FakeZalo()
    await server.start()
    yield server
    await server.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def fake(shared_fake: FakeZalo) -> AsyncIterator[FakeZalo]:
    shared_fake.reset()
    yield shared_fake
    assert shared_fake.server_errors == []


@pytest_asyncio.fixture(loop_scope="module")
async def api(fake: FakeZalo) -> AsyncIterator[ZaloApi]:
    client = ZaloApi(fake.token, base_url=fake.base_url, timeout=2.0)
    yield client
    await client.aclose()


class WebhookReceiver:
    """The bot's side of a webhook: records every POST (secret header + JSON body)."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[tuple[str | None, Any]] = []
        self._server: InLoopServer | None = None
        self._task: asyncio.Task[None] | None = None
        self.url = ""

    async def _endpoint(self, request: Request) -> JSONResponse:
        self.received.append((request.headers.get(SECRET_HEADER), await request.json()))
        return JSONResponse({"ok": self.status == 200}, status_code=self.status)

    async def start(self) -> None:
        app = Starlette(routes=[Route("/zalo/webhook", self._endpoint, methods=["POST"])])
        config = uvicorn.Config(app, lifespan="off", log_config=None, access_log=False, ws="none")
        self._server = InLoopServer(config)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}/zalo/webhook"
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        assert self._server is not None and self._task is not None
        self._server.should_exit = True
        await asyncio.wait_for(self._task, timeout=5)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_receiver() -> AsyncIterator[WebhookReceiver]:
    hook = WebhookReceiver()
    await hook.start()
    yield hook
    await hook.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def receiver(shared_receiver: WebhookReceiver) -> WebhookReceiver:
    shared_receiver.status = 200
    shared_receiver.received.clear()
    return shared_receiver


def bare_update(**message: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "from": {"id": USER, "display_name": "Lan", "is_bot": False},
        "chat": {"id": USER, "chat_type": "PRIVATE"},
        "text": "Xin chào",
        "message_id": "2d758cb5e222177a4e35",
        "date": 1750316131602,
    }
    base.update(message)
    return {"event_name": "message.text.received", "message": base}


# --------------------------------------------------------------------------- client vs fake


@on_module_loop
async def test_get_me(api: ZaloApi, fake: FakeZalo) -> None:
    me = await api.get_me()
    assert me["id"] == fake.bot_info["id"]
    assert me["account_name"] == "bot.congdoan"
    assert fake.calls == [("getMe", {})]


@on_module_loop
async def test_long_poll_returns_one_queued_update_at_a_time(api: ZaloApi, fake: FakeZalo) -> None:
    sent = fake.user_sends(USER, "Xin chào", name="Nguyễn Thị Lan")
    fake.user_sends(USER, "lần hai")

    first = await api.get_updates(timeout=5)
    assert isinstance(first, ZaloUpdate)
    assert first.event_name == "message.text.received"
    assert first.text == "Xin chào"
    assert first.user_id == USER and first.chat_id == USER
    assert first.chat_type == "private"
    assert first.display_name == "Nguyễn Thị Lan"
    assert first.message_id == sent["message"]["message_id"]
    assert first.date.tzinfo is UTC
    assert abs((datetime.now(UTC) - first.date).total_seconds()) < 5
    assert fake.calls_of("getUpdates")[0] == {"timeout": 5}

    second = await api.get_updates(timeout=5)
    assert second is not None and second.text == "lần hai"
    assert await api.get_updates(timeout=0) is None  # queue drained: 408 -> None
    assert fake.pending == [] and len(fake.delivered) == 2


@on_module_loop
async def test_long_poll_wakes_up_when_a_user_writes(api: ZaloApi, fake: FakeZalo) -> None:
    poll = asyncio.create_task(api.get_updates(timeout=5))
    await fake.wait_until(lambda: bool(fake.calls_of("getUpdates")), what="poll started")
    fake.user_sends(USER, "nhóm", chat_id=GROUP, group=True)
    update = await asyncio.wait_for(poll, timeout=2)
    assert update is not None
    assert update.chat_id == GROUP and update.user_id == USER and update.chat_type == "group"


@on_module_loop
async def test_poll_timeout_is_none_and_http_read_timeout_exceeds_it(fake: FakeZalo) -> None:
    # The server holds the poll for 0.15 s, longer than the client's 0.05 s base timeout: the
    # read timeout must be extended by the poll time, so this is a quiet 408, not ReadTimeout.
    fake.max_poll_seconds = 0.15
    async with ZaloApi(fake.token, base_url=fake.base_url, timeout=0.05) as api:
        await api.get_me()  # connect first: the 0.05 s connect timeout is not under test
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await api.get_updates(timeout=5) is None
        assert loop.time() - started >= 0.12


@on_module_loop
async def test_unparseable_update_is_dropped(
    api: ZaloApi, fake: FakeZalo, caplog: pytest.LogCaptureFixture
) -> None:
    fake.queue_raw_update({"event_name": "message.text.received", "message": {"text": "x"}})
    with caplog.at_level(logging.WARNING, logger="bot.adapters.zalo_api"):
        assert await api.get_updates(timeout=1) is None
    assert "unparseable" in caplog.text
    assert fake.pending == []


@on_module_loop
async def test_duplicates_are_delivered_again(api: ZaloApi, fake: FakeZalo) -> None:
    fake.user_sends(USER, "một")
    fake.duplicate_last()
    fake.deliver_twice = True
    fake.user_sends_sticker(USER)
    updates = [await api.get_updates(timeout=1) for _ in range(4)]
    assert all(u is not None for u in updates)
    ids = [u.message_id for u in updates if u is not None]
    assert ids[0] == ids[1] and ids[2] == ids[3] and ids[0] != ids[2]
    assert updates[2] == updates[3]  # same event -> equal (raw is not compared)


@on_module_loop
async def test_other_event_kinds(api: ZaloApi, fake: FakeZalo) -> None:
    fake.user_sends_image(USER, "https://example.com/a.jpg", caption="ảnh")
    fake.user_sends_voice(USER)
    fake.user_sends_unsupported(USER)
    image, voice, other = [await api.get_updates(timeout=1) for _ in range(3)]
    assert image is not None and image.event_name == "message.image.received"
    assert image.photo_url == "https://example.com/a.jpg" and image.text == "ảnh"
    assert voice is not None and voice.event_name == "message.voice.received"
    assert voice.photo_url is None and voice.text is None
    assert other is not None and other.event_name == "message.unsupported.received"


@on_module_loop
async def test_wrong_token_is_401(fake: FakeZalo) -> None:
    async with ZaloApi("not-the-token", base_url=fake.base_url) as api:
        with pytest.raises(ZaloApiError) as info:
            await api.get_me()
    assert info.value.error_code == 401
    assert info.value.description == "Unauthorized"
    assert fake.calls == []


@on_module_loop
async def test_send_message_recorded_and_limits(api: ZaloApi, fake: FakeZalo) -> None:
    mark = fake.mark()
    result = await api.send_message(USER, "Chào bạn Lan")
    assert result["message_id"]
    message = await fake.wait_for(USER, contains="Chào bạn", since=mark)
    assert message.text == "Chào bạn Lan" and message.message_id == result["message_id"]
    assert fake.calls_of("sendMessage") == [{"chat_id": USER, "text": "Chào bạn Lan"}]

    await api.send_message(USER, "x" * MAX_TEXT)  # exactly the limit is fine
    with pytest.raises(ValueError):
        await api.send_message(USER, "x" * (MAX_TEXT + 1))
    with pytest.raises(ValueError):
        await api.send_message(USER, "")
    assert len(fake.calls_of("sendMessage")) == 2  # the invalid ones never left the client
    assert [m.text for m in fake.messages_to(USER)] == ["Chào bạn Lan", "x" * MAX_TEXT]
    with pytest.raises(AssertionError, match="timed out"):
        await fake.wait_for(USER, contains="không có", timeout=0.05)


@on_module_loop
async def test_server_side_validation(api: ZaloApi, fake: FakeZalo) -> None:
    # What the fake rejects when a client skips local checks (raw call on purpose).
    with pytest.raises(ZaloApiError) as info:
        await api._call("sendMessage", {"chat_id": USER, "text": "y" * (MAX_TEXT + 1)})
    assert info.value.error_code == 400
    with pytest.raises(ZaloApiError) as info:
        await api._call("sendMessage", {"chat_id": 123, "text": "id phải là chuỗi"})
    assert info.value.error_code == 400
    with pytest.raises(ZaloApiError) as info:
        await api.send_photo(USER, "/tmp/local.png")
    assert info.value.error_code == 400
    with pytest.raises(ZaloApiError) as info:
        await api._call("noSuchMethod")
    assert info.value.error_code == 404
    assert fake.sent == []


@on_module_loop
async def test_blocked_user_is_403(api: ZaloApi, fake: FakeZalo) -> None:
    fake.blocked_users.add(USER)
    with pytest.raises(ZaloApiError) as info:
        await api.send_message(USER, "Thông báo")
    assert info.value.error_code == 403
    assert fake.sent == [] and fake.errors[0][0] == "sendMessage"


@on_module_loop
async def test_fail_next_429_with_retry_after(api: ZaloApi, fake: FakeZalo) -> None:
    fake.fail_next("sendMessage", 429, retry_after=3)
    with pytest.raises(ZaloApiError) as info:
        await api.send_message(USER, "một")
    assert info.value.error_code == 429 and info.value.retry_after == 3.0
    assert "retry after 3s" in str(info.value)

    fake.fail_next("sendMessage", 429)  # retry_after is optional on Zalo
    with pytest.raises(ZaloApiError) as info:
        await api.send_message(USER, "hai")
    assert info.value.retry_after is None

    await api.send_message(USER, "ba")  # rules are used up
    assert [m.text for m in fake.sent] == ["ba"]


@on_module_loop
async def test_ok_false_with_http_200_and_non_json_bodies(api: ZaloApi, fake: FakeZalo) -> None:
    fake.fail_next("getMe", 500, "Internal error", http_status=200)
    with pytest.raises(ZaloApiError) as info:
        await api.get_me()
    assert info.value.error_code == 500 and info.value.description == "Internal error"

    fake.fail_next("getMe", 502, body_text="<html>502 Bad Gateway</html>")
    with pytest.raises(ZaloApiError) as info:
        await api.get_me()
    assert info.value.error_code == 502
    assert "non-JSON" in info.value.description

    fake.fail_next("getMe", 0, http_status=200, body_text="not json")
    with pytest.raises(ZaloApiError) as info:
        await api.get_me()
    assert info.value.error_code == 200  # HTTP 200 alone is not success


@on_module_loop
async def test_photo_sticker_and_chat_action(api: ZaloApi, fake: FakeZalo) -> None:
    await api.send_chat_action(USER)
    await api.send_photo(USER, "https://example.com/chart.png", caption="Bảng thi đua")
    await api.send_sticker(USER, "sticker-42")
    photo = await fake.wait_for(USER, contains="thi đua")
    assert photo.method == "sendPhoto" and photo.photo_url == "https://example.com/chart.png"
    assert fake.sent[-1].sticker == "sticker-42"
    assert fake.calls_of("sendChatAction") == [{"chat_id": USER, "action": "typing"}]
    with pytest.raises(ZaloApiError) as info:
        await api.send_chat_action(USER, "dancing")
    assert info.value.error_code == 400


@on_module_loop
async def test_stall_makes_the_client_time_out(fake: FakeZalo) -> None:
    async with ZaloApi(fake.token, base_url=fake.base_url, timeout=0.1) as api:
        fake.stall_next("sendMessage", 0.2)
        with pytest.raises(httpx.ReadTimeout) as info:
            await api.send_message(USER, "chậm")
        assert fake.token not in str(info.value)
        # after_processing (default): the message went out although the client gave up.
        await fake.wait_for(USER, contains="chậm", timeout=1)


@on_module_loop
async def test_transport_errors_propagate_unwrapped() -> None:
    async with ZaloApi("zalo-test-token", base_url="http://127.0.0.1:1", timeout=1) as api:
        with pytest.raises(httpx.ConnectError):
            await api.get_me()


@on_module_loop
async def test_webhook_settings(api: ZaloApi, fake: FakeZalo) -> None:
    with pytest.raises(ValueError):
        await api.set_webhook("https://bot.example.vn/zalo", "short")
    with pytest.raises(ValueError):
        await api.set_webhook("https://bot.example.vn/zalo", "x" * 257)
    assert fake.calls == []

    await api.set_webhook("https://bot.example.vn/zalo", SECRET)
    info = await api.get_webhook_info()
    assert info["url"] == "https://bot.example.vn/zalo"
    assert fake.webhook_secret == SECRET
    with pytest.raises(ZaloApiError) as error:
        await api.get_updates(timeout=1)  # polling does not work while a webhook is set
    assert error.value.error_code == 409

    await api.delete_webhook()
    assert (await api.get_webhook_info())["url"] == ""
    fake.user_sends(USER, "lại polling")
    update = await api.get_updates(timeout=1)
    assert update is not None and update.text == "lại polling"


@on_module_loop
async def test_webhook_push(api: ZaloApi, fake: FakeZalo, receiver: WebhookReceiver) -> None:
    fake.user_sends(USER, "trước khi có webhook")  # queued, pushed once the hook is set
    await api.set_webhook(receiver.url, SECRET)
    fake.user_sends(USER, "sau")
    await fake.wait_until(lambda: len(fake.deliveries) == 2, timeout=2, what="2 pushes")
    assert all(d.ok for d in fake.deliveries)
    assert [secret for secret, _ in receiver.received] == [SECRET, SECRET]
    texts = []
    for _secret, body in receiver.received:
        assert body["ok"] is True  # wrapped by default
        update = parse_update(body)
        assert update is not None
        texts.append(update.text)
    assert texts == ["trước khi có webhook", "sau"]

    fake.push_wrapped = False
    fake.auto_push = False
    fake.user_sends(USER, "trần")
    assert receiver.received[-1][1]["ok"] is True  # not pushed yet
    [delivery] = await fake.push_pending()
    assert delivery.ok and "ok" not in receiver.received[-1][1]
    update = parse_update(receiver.received[-1][1])
    assert update is not None and update.text == "trần"

    raw = await fake.push_raw(["không", "phải", "dict"], secret="wrong-secret")
    assert raw.ok and receiver.received[-1] == ("wrong-secret", ["không", "phải", "dict"])
    assert parse_update(receiver.received[-1][1]) is None
    await fake.wait_idle(timeout=2)


@on_module_loop
async def test_failed_push_is_recorded(fake: FakeZalo, receiver: WebhookReceiver) -> None:
    receiver.status = 500
    fake.webhook_url, fake.webhook_secret = receiver.url, SECRET
    fake.auto_push = False
    fake.user_sends(USER, "lỗi")
    [delivery] = await fake.push_pending()
    assert delivery.status == 500 and not delivery.ok
    assert fake.pending == []  # not retried


# --------------------------------------------------------------------------- secrets


@on_module_loop
async def test_token_never_in_errors_or_logs(
    fake: FakeZalo, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = fake.token
    errors: list[BaseException] = []
    async with ZaloApi(token, base_url=fake.base_url, timeout=1) as api:
        assert token not in repr(api)
        fake.fail_next("sendMessage", 400, f"bad url /bot{token}/sendMessage")
        fake.fail_next("getMe", 502, body_text=f"proxy error for /bot{token}/getMe")
        fake.blocked_users.add(USER)
        for call in (
            api.send_message(USER, "a"),
            api.get_me(),
            api.send_message(USER, "b"),
            api.get_updates(timeout=0),
        ):
            try:
                await call
            except ZaloApiError as exc:
                errors.append(exc)
    assert len(errors) == 3
    for exc in errors:
        assert token not in str(exc) and token not in repr(exc)
        assert isinstance(exc, ZaloApiError) and token not in exc.description
    # httpx itself logs request URLs at INFO (bot.logs silences it and redacts secrets);
    # everything this code and the fake log must be clean.
    ours = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert any(r.name == "bot.adapters.zalo_api" for r in ours)
    for record in ours:
        assert token not in record.getMessage()
    assert any("bot***" in r.getMessage() for r in ours)


# --------------------------------------------------------------------------- parse_update


def test_parse_update_bare_and_wrapped() -> None:
    bare = bare_update()
    for payload in (bare, {"ok": True, "result": bare}):
        update = parse_update(payload)
        assert update is not None
        assert update.event_name == "message.text.received"
        assert update.message_id == "2d758cb5e222177a4e35"
        assert update.user_id == USER and update.chat_id == USER
        assert update.chat_type == "private" and update.display_name == "Lan"
        assert update.text == "Xin chào" and update.photo_url is None
        assert update.date == datetime(2025, 6, 19, 6, 55, 31, 602000, tzinfo=UTC)
        assert update.raw == bare


def test_parse_update_group_image_and_tolerated_shapes() -> None:
    group = parse_update(
        bare_update(chat={"id": GROUP, "chat_type": "GROUP"}, text=None, photo_url="https://x/y")
    )
    assert group is not None and group.chat_type == "group" and group.text is None
    assert group.photo_url is None  # only image events carry a photo
    image = parse_update(
        {**bare_update(url="https://x/y.jpg"), "event_name": "message.image.received"}
    )
    assert image is not None and image.photo_url == "https://x/y.jpg"
    inferred = parse_update(bare_update(chat={"id": GROUP}))
    assert inferred is not None and inferred.chat_type == "group"
    numeric = parse_update(bare_update(message_id=12345, chat={"id": 7}, **{"from": {"id": 7}}))
    assert numeric is not None
    assert (numeric.message_id, numeric.chat_id, numeric.user_id) == ("12345", "7", "7")
    assert numeric.chat_type == "private" and numeric.display_name == ""
    no_date = parse_update(bare_update(date="soon"))
    assert no_date is not None and no_date.date.tzinfo is UTC


def test_parse_update_unknown_event_is_returned() -> None:
    update = parse_update({**bare_update(), "event_name": "message.reaction.received"})
    assert update is not None and update.event_name == "message.reaction.received"


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "text",
        42,
        [bare_update()],
        {},
        {"ok": False, "error_code": 408, "description": "Request timeout"},
        {"ok": True, "result": None},
        {"ok": True, "result": [bare_update()]},
        {"ok": False, "result": bare_update()},
        {"event_name": "message.text.received"},
        {"message": bare_update()["message"]},  # no event_name
        {"event_name": 5, "message": bare_update()["message"]},
        {"event_name": "message.text.received", "message": "hi"},
        bare_update(message_id=None),
        bare_update(message_id=""),
        bare_update(message_id=True),
        bare_update(chat={}),
        bare_update(chat="x"),
        bare_update(**{"from": {"display_name": "no id"}}),
        bare_update(**{"from": None}),
        bare_update(chat={"id": USER, "chat_type": "CHANNEL"}),
        bare_update(chat={"id": USER, "chat_type": 1}),
    ],
)
def test_parse_update_malformed_is_none(payload: Any) -> None:
    assert parse_update(payload) is None


# --------------------------------------------------------------------------- split_for_zalo


def _random_lines(rng: random.Random, max_words: int) -> list[str]:
    lines = []
    for _ in range(rng.randint(1, 80)):
        words = ["đoàn", "viên", "công", "thi", "đua", "họp", "ngày", "x" * rng.randint(1, 20)]
        lines.append(" ".join(rng.choice(words) for _ in range(rng.randint(1, max_words))))
    return lines


@pytest.mark.parametrize("seed", range(20))
def test_split_for_zalo_keeps_whole_lines(seed: int) -> None:
    rng = random.Random(seed)
    text = "\n".join(_random_lines(rng, max_words=4))  # lines of at most 83 characters
    limit = rng.choice([90, 200, 400, MAX_TEXT])
    chunks = split_for_zalo(text, limit)
    assert chunks and all(0 < len(c) <= limit and c.strip() for c in chunks)
    # Every line fits, so all cuts are at newlines (which are dropped): joining with "\n"
    # gives back the text exactly, and no line was cut in two.
    assert "\n".join(chunks) == text
    if len(text) <= limit:
        assert chunks == [text]


@pytest.mark.parametrize("seed", range(20))
def test_split_for_zalo_only_cuts_lines_that_do_not_fit(seed: int) -> None:
    rng = random.Random(1000 + seed)
    lines = _random_lines(rng, max_words=40)  # some lines are longer than the limit
    text = "\n".join(lines)
    limit = rng.choice([100, 250])
    chunks = split_for_zalo(text, limit)
    assert all(0 < len(c) <= limit for c in chunks)
    chunk_lines = [line for chunk in chunks for line in chunk.split("\n")]
    for line in lines:
        if len(line) <= limit:
            assert line in chunk_lines  # a line that fits is never cut
    # Nothing but the newlines at cut points is lost, and the order is kept.
    assert "".join(chunks).replace("\n", "") == text.replace("\n", "")


def test_split_for_zalo_long_lines_and_edge_cases() -> None:
    words = " ".join(f"từ{i}" for i in range(1500))
    chunks = split_for_zalo(words)
    assert len(chunks) > 1 and all(len(c) <= MAX_TEXT for c in chunks)
    assert "".join(chunks) == words  # split at spaces (kept), nothing lost
    assert all(c.endswith(" ") for c in chunks[:-1])

    solid = "a" * 4500
    assert [len(c) for c in split_for_zalo(solid)] == [2000, 2000, 500]

    assert split_for_zalo("") == []
    assert split_for_zalo("ngắn") == ["ngắn"]
    assert split_for_zalo("x" * MAX_TEXT) == ["x" * MAX_TEXT]
    spaced = "a" * 10 + "\n" * 30 + "b" * 10
    assert all(c.strip() for c in split_for_zalo(spaced, 12))  # no blank chunks to send
