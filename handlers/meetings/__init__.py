"""Meetings: planning, invitations and RSVP, reminders and recurrence, the organiser's view."""
