"""Platform-neutral features. Each module registers its commands, buttons and flows here."""

from bot.registry import Registry

registry = Registry()


def load_all() -> Registry:
    """Import every feature module so its registrations run; returns the shared registry."""
    from handlers import groups, help, members, profile, registration, settings  # noqa: F401

    return registry
