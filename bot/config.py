"""Settings: read config.toml once, validate it, and let environment variables override secrets.

Errors name the bad key ("telegram.mode: ...") so the IT person can fix the file quickly.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.backup.settings import BackupSection
from bot.ratelimit import Limits
from bot.settings_base import ConfigError, StrictModel
from handlers.emulation.settings import EmulationSection

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "config.toml"
EXAMPLE_CONFIG = ROOT / "config.example.toml"

# Secrets that may come from the environment instead of the file (env wins).
ENV_OVERRIDES = {
    "CONGDOAN_TELEGRAM_TOKEN": ("telegram", "token"),
    "CONGDOAN_WEBHOOK_SECRET": ("telegram", "webhook_secret"),
    "CONGDOAN_DATABASE_URL": ("database", "url"),
    "CONGDOAN_ZALO_TOKEN": ("zalo", "token"),
    "CONGDOAN_ZALO_WEBHOOK_SECRET": ("zalo", "webhook_secret"),
    "CONGDOAN_LINK_SECRET": ("web", "link_secret"),
}


class BotSection(StrictModel):
    language: Literal["vi", "en"] = "vi"
    timezone: str = "Asia/Ho_Chi_Minh"
    name: str = "Trợ lý Công đoàn"
    # "platform:user_id" of people who are admins everywhere, even before they register.
    admins: list[str] = Field(default_factory=list)
    # "platform:chat_id" where unexpected errors are reported (no personal data is sent there).
    admin_chat: str = ""
    # A dialog left untouched this long starts over.
    dialog_timeout_hours: int = Field(default=24, ge=1, le=24 * 30)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"không biết múi giờ '{value}' (ví dụ: Asia/Ho_Chi_Minh)") from exc
        return value

    @field_validator("admins")
    @classmethod
    def _platform_ids(cls, values: list[str]) -> list[str]:
        for value in values:
            _check_address(value)
        return values

    @field_validator("admin_chat")
    @classmethod
    def _admin_chat(cls, value: str) -> str:
        if value:
            _check_address(value)
        return value


def _check_address(value: str) -> None:
    platform, _, ident = value.partition(":")
    if platform not in {"telegram", "zalo", "console"} or not ident:
        raise ValueError(f"'{value}' phải có dạng nền_tảng:id, ví dụ telegram:123456789")


class DatabaseSection(StrictModel):
    url: str = "sqlite+aiosqlite:///data/congdoan.db"
    # How long a write waits for another writer before the update is retried.
    lock_timeout_ms: int = Field(default=5000, ge=10, le=60_000)


class ExtraTelegramBot(StrictModel):
    """Another Telegram bot of the same deployment (e.g. one per CĐCS of a province): members
    who talk to it are answered and reached through it. Settings other than the token are the
    main bot's."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,23}$")  # e.g. "sct", "cdcs-xd"
    token: SecretStr
    # Only where this bot talks to another Bot API server (a local one): else the main bot's.
    base_url: str = ""
    base_file_url: str = ""


class TelegramSection(StrictModel):
    token: SecretStr = SecretStr("")
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str = ""
    webhook_secret: SecretStr = SecretStr("")
    listen: str = "0.0.0.0"
    port: int = Field(default=8080, ge=1, le=65535)
    # Seconds to wait for Telegram to answer one request (long polls add their own timeout).
    request_timeout: float = Field(default=15.0, ge=0.5, le=120)
    # More bots in one deployment, each with its own token and pace ([[telegram.bots]]).
    bots: list[ExtraTelegramBot] = Field(default_factory=list)

    @property
    def enabled(self) -> bool:
        return bool(self.token.get_secret_value())

    @model_validator(mode="after")
    def _extra_bots_fit(self) -> TelegramSection:
        for extra in self.bots:
            if not extra.token.get_secret_value():
                raise ValueError(
                    f"bots: bot «{extra.name}» chưa có token (hoặc env "
                    f"CONGDOAN_TELEGRAM_TOKEN_{extra.name.upper().replace('-', '_')})"
                )
        names = [b.name for b in self.bots]
        if len(set(names)) != len(names):
            raise ValueError("bots: mỗi bot cần một tên (name) riêng")
        tokens = [b.token.get_secret_value() for b in self.bots] + [self.token.get_secret_value()]
        if len(set(tokens)) != len(tokens):
            raise ValueError("bots: mỗi bot cần một token riêng")
        if self.bots and not self.enabled:
            raise ValueError("bots: cần token của bot chính ([telegram] token) trước")
        if self.bots and self.mode == "webhook":
            raise ValueError(
                'bots: các bot thêm chỉ chạy với mode = "polling" (chưa hỗ trợ webhook)'
            )
        return self

    def for_bot(self, extra: ExtraTelegramBot) -> TelegramSection:
        """The settings another bot runs with: the main bot's, with its own token."""
        update: dict[str, object] = {"token": extra.token, "bots": []}
        if extra.base_url:
            update["base_url"] = extra.base_url
        if extra.base_file_url:
            update["base_file_url"] = extra.base_file_url
        return self.model_copy(update=update)


class ZaloSection(StrictModel):
    """The Zalo Bot Platform (bot created in Zalo Bot Manager)."""

    token: SecretStr = SecretStr("")
    base_url: str = "https://bot-api.zaloplatforms.com"
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str = ""  # public https URL ending in /zalo/webhook
    webhook_secret: SecretStr = SecretStr("")  # 8–256 characters
    request_timeout: float = Field(default=15.0, ge=0.5, le=120)
    poll_timeout: int = Field(default=30, ge=1, le=60)

    @property
    def enabled(self) -> bool:
        return bool(self.token.get_secret_value())


class WebSection(StrictModel):
    """The bot's own web server: webhooks, health check, and download links for files sent
    to apps that cannot take uploads (Zalo)."""

    listen: str = "0.0.0.0"
    port: int = Field(default=8080, ge=1, le=65535)
    # Where people reach this server, e.g. https://congdoan.example.vn (links to files).
    public_url: str = ""
    # Signs download links; from CONGDOAN_LINK_SECRET. Empty: derived from the bot tokens.
    link_secret: SecretStr = SecretStr("")
    link_hours: int = Field(default=72, ge=1, le=24 * 30)
    # The web pages (docs/web.md): a one-time sign-in link from /web lives this long, a
    # browser session this long, and Telegram Mini App data this many seconds after Telegram
    # signed it.
    signin_minutes: int = Field(default=10, ge=1, le=60)
    session_hours: int = Field(default=12, ge=1, le=24 * 7)
    mini_app_max_age_seconds: int = Field(default=3600, ge=60, le=24 * 3600)
    # Open registration as a Telegram Mini App (needs an https public_url); off: a link.
    mini_app: bool = True


class HealthSection(StrictModel):
    """What /healthz calls unwell (docs/monitoring.md)."""

    # A delivery worker that has not looped, finished a send or renewed its leases for this
    # long has stopped (it does one of them at least every 10 s while it lives).
    worker_stale_seconds: int = Field(default=60, ge=5, le=3600)
    # A polling app whose last getUpdates answered longer ago than this is not receiving (a
    # long poll answers at least every poll timeout, 30 s by default).
    poll_stale_seconds: int = Field(default=120, ge=10, le=3600)
    # How long the database check may take before it counts as unreachable.
    database_timeout_seconds: float = Field(default=3.0, ge=0.1, le=60)


class LoggingSection(StrictModel):
    """Log lines: plain text or one JSON object a line; to stderr (journald, docker) or a file
    that rotates."""

    format: Literal["text", "json"] = "text"
    # Empty: stderr. A relative path is taken from the directory the bot runs in.
    file: str = ""
    max_bytes: int = Field(default=10 * 1024 * 1024, ge=10_000)
    backup_count: int = Field(default=5, ge=0, le=100)


class PlatformDelivery(StrictModel):
    """How fast the delivery engine may send on one platform."""

    messages_per_second: int = Field(default=30, ge=1, le=1000)
    per_chat_per_second: int = Field(default=1, ge=1, le=100)
    per_group_per_minute: int = Field(default=20, ge=1, le=1000)
    concurrency: int = Field(default=8, ge=1, le=64)
    max_attempts: int = Field(default=5, ge=1, le=20)
    progress_interval_seconds: float = Field(default=3.0, ge=0.1, le=60)
    # Telegram only: offer paid broadcasts (`allow_paid_broadcast`) in the announcement
    # preview: up to `paid_messages_per_second`, billed 0.1 Star a message from the bot's
    # Stars balance (docs/reach.md has Telegram's conditions).
    paid_broadcast: bool = False
    paid_messages_per_second: int = Field(default=1000, ge=1, le=1000)
    # Zalo only: its 429 is "Quota exceeded" (maybe a daily or monthly allowance). Each
    # refusal pauses Zalo's deliveries longer: from quota_first_pause_seconds, doubling up to
    # quota_max_pause_minutes; refusals lasting quota_pause_after_minutes count as the quota
    # being used up: the board and the admin chat are told, rows stay queued, and one message
    # is tried after each pause until Zalo takes it again.
    quota_first_pause_seconds: float = Field(default=5.0, gt=0, le=3600)
    quota_max_pause_minutes: float = Field(default=60.0, gt=0, le=24 * 60)
    quota_pause_after_minutes: float = Field(default=10.0, ge=0, le=24 * 60)

    def limits(self) -> Limits:
        return Limits(
            global_count=self.messages_per_second,
            chat_count=self.per_chat_per_second,
            group_count=self.per_group_per_minute,
        )

    def paid_limits(self) -> Limits | None:
        """The paid lane's pace: the chats' own limits stay, the overall one is raised."""
        if not self.paid_broadcast:
            return None
        return Limits(
            global_count=self.paid_messages_per_second,
            chat_count=self.per_chat_per_second,
            group_count=self.per_group_per_minute,
        )


class DeliverySection(StrictModel):
    # The admin chat is told once when rows have been due this many minutes and not sent
    # (0: never), and again when delivery is moving again.
    stall_alert_minutes: int = Field(default=15, ge=0, le=24 * 60)
    telegram: PlatformDelivery = Field(default_factory=PlatformDelivery)
    # Zalo publishes no limits: start slow, raise it when it proves fine.
    zalo: PlatformDelivery = Field(
        default_factory=lambda: PlatformDelivery(messages_per_second=8, per_group_per_minute=10)
    )
    console: PlatformDelivery = Field(
        default_factory=lambda: PlatformDelivery(
            messages_per_second=1000,
            per_chat_per_second=100,
            per_group_per_minute=1000,
            progress_interval_seconds=1.0,
        )
    )

    def for_platform(self, platform: str) -> PlatformDelivery:
        return getattr(self, platform, self.telegram)

    @model_validator(mode="after")
    def _paid_only_on_telegram(self) -> DeliverySection:
        for name in ("zalo", "console"):
            if getattr(self, name).paid_broadcast:
                raise ValueError(f"paid_broadcast chỉ có trên Telegram, không dùng cho {name}")
        return self


class UnitSection(StrictModel):
    code: str = Field(min_length=2, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(min_length=2, max_length=200)
    kind: Literal["cdcs", "cdbp", "to"] = "to"
    parent: str = ""


class Settings(StrictModel):
    bot: BotSection = Field(default_factory=BotSection)
    database: DatabaseSection = Field(default_factory=DatabaseSection)
    telegram: TelegramSection = Field(default_factory=TelegramSection)
    zalo: ZaloSection = Field(default_factory=ZaloSection)
    web: WebSection = Field(default_factory=WebSection)
    delivery: DeliverySection = Field(default_factory=DeliverySection)
    health: HealthSection = Field(default_factory=HealthSection)
    logging: LoggingSection = Field(default_factory=LoggingSection)
    emulation: EmulationSection = Field(default_factory=EmulationSection)
    backup: BackupSection = Field(default_factory=BackupSection)
    units: list[UnitSection] = Field(default_factory=list)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.bot.timezone)

    def check_units(self) -> None:
        codes = [u.code.upper() for u in self.units]
        for index, unit in enumerate(self.units):
            if codes.count(unit.code.upper()) > 1:
                raise ConfigError(f"units[{index}].code: mã đơn vị '{unit.code}' bị trùng")
            if unit.parent and unit.parent.upper() not in codes:
                raise ConfigError(f"units[{index}].parent: không có đơn vị nào mã '{unit.parent}'")
        if self.telegram.mode == "webhook" and self.telegram.enabled:
            if not self.telegram.webhook_url:
                raise ConfigError('telegram.webhook_url: cần khi mode = "webhook"')
            if len(self.telegram.webhook_secret.get_secret_value()) < 8:
                raise ConfigError("telegram.webhook_secret: cần ít nhất 8 ký tự khi dùng webhook")
        if self.zalo.enabled and self.zalo.mode == "webhook":
            if not self.zalo.webhook_url:
                raise ConfigError('zalo.webhook_url: cần khi mode = "webhook"')
            if not 8 <= len(self.zalo.webhook_secret.get_secret_value()) <= 256:
                raise ConfigError("zalo.webhook_secret: cần từ 8 đến 256 ký tự khi dùng webhook")
        if self.zalo.enabled and not self.web.public_url:
            raise ConfigError(
                "web.public_url: Zalo không nhận tệp đính kèm, bot gửi đường dẫn tải tệp; "
                "cần địa chỉ công khai của máy chủ bot (ví dụ https://congdoan.example.vn)"
            )


def _format_error(exc: ValidationError, source: str) -> str:
    lines = [f"Cấu hình không hợp lệ ({source}):"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "khoá không được hỗ trợ (gõ sai tên?)"
        lines.append(f"  - {key}: {message}")
    return "\n".join(lines)


def parse_settings(data: dict, source: str = "config") -> Settings:
    data = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
    for env, (section, key) in ENV_OVERRIDES.items():
        if os.environ.get(env):
            data.setdefault(section, {})[key] = os.environ[env]
    for extra in data.get("telegram", {}).get("bots", []):  # CONGDOAN_TELEGRAM_TOKEN_<NAME>
        if isinstance(extra, dict) and isinstance(extra.get("name"), str):
            env = "CONGDOAN_TELEGRAM_TOKEN_" + extra["name"].upper().replace("-", "_")
            if os.environ.get(env):
                extra["token"] = os.environ[env]
    # telegram.listen/port came first: they still set the web server's address.
    for key in ("listen", "port"):
        if key in data.get("telegram", {}) and key not in data.get("web", {}):
            data.setdefault("web", {})[key] = data["telegram"][key]
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_error(exc, source)) from None
    settings.check_units()
    settings.emulation.check()
    return settings


def load_settings(path: Path | str | None = None) -> Settings:
    """Read config.toml (or, when it does not exist yet, the shipped example)."""
    file = Path(path) if path else DEFAULT_CONFIG
    if not file.exists():
        if path:
            raise ConfigError(f"Không tìm thấy tệp cấu hình {file}")
        file = EXAMPLE_CONFIG
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: lỗi cú pháp TOML: {exc}") from None
    settings = parse_settings(data, str(file))
    settings.database.url = _anchor_sqlite(settings.database.url, file.parent)
    settings.backup.dir = str(_anchor_path(settings.backup.dir, file.parent))
    settings.backup.exports_dir = str(_anchor_path(settings.backup.exports_dir, file.parent))
    return settings


def _anchor_path(path: str, base: Path) -> Path:
    """A relative directory in the config means "next to config.toml"."""
    given = Path(path)
    return given if given.is_absolute() else (base / given).resolve()


def _anchor_sqlite(url: str, base: Path) -> str:
    """A relative SQLite path means "next to config.toml", whatever the working directory."""
    prefix, _, path = url.partition(":///")
    if prefix.startswith("sqlite") and path and path != ":memory:" and not path.startswith("/"):
        return f"{prefix}:///{(base / path).resolve()}"
    return url
