"""Platform-neutral features. Each module registers its commands, buttons and flows here."""

from bot.registry import Registry

registry = Registry()


def load_all() -> Registry:
    """Import every feature module so its registrations run; returns the shared registry."""
    from handlers import (  # noqa: F401
        broadcasts,
        deliveries,
        emulation,
        emulation_collective,
        emulation_edit,
        emulation_report,
        emulation_review,
        groups,
        help,
        linking,
        meeting_manage,
        meeting_rsvp,
        meetings,
        member_manage,
        members,
        poll_results,
        poll_votes,
        polls,
        profile,
        registration,
        settings,
    )

    return registry
