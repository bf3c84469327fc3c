"""The bot's web pages: sign-in, sessions, CSRF, Telegram Mini App data, templates and the
access checks; features register their pages (bot/webui/pages.py) the way they register
commands. See docs/web.md."""
