"""Platform-neutral features. Each module registers its commands, buttons and flows here."""

from bot.registry import Registry

registry = Registry()


def load_all() -> Registry:
    """Import every feature module so its registrations run; returns the shared registry."""
    from handlers import account, groups, help, linking, web_signin  # noqa: F401
    from handlers.broadcasts import compose, deliveries  # noqa: F401
    from handlers.broadcasts import pages as broadcast_pages  # noqa: F401
    from handlers.emulation import (  # noqa: F401
        board_pages,
        campaign,
        collective,
        edit,
        report,
        review,
    )
    from handlers.emulation import pages as emulation_pages  # noqa: F401
    from handlers.meetings import manage, rsvp, schedule  # noqa: F401
    from handlers.meetings import pages as meeting_pages  # noqa: F401
    from handlers.members import (  # noqa: F401
        card_page,
        import_page,
        listing,
        pages,
        profile,
        registration,
        table,
    )
    from handlers.members import manage as member_manage  # noqa: F401
    from handlers.polls import create, results, votes  # noqa: F401
    from handlers.polls import pages as poll_pages  # noqa: F401

    return registry
