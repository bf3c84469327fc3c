"""Emulation (thi đua): campaign, pledges, collective titles, edits, review, report, campaign
file."""
