"""Members: self-registration, the profile, the member list and card, approving and moving
members, roles, the roster import/export."""
