"""Helpers several features share: audiences, pickers, dialog presses, member fields,
notifying the board."""
