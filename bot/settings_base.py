"""The pieces every section of config.toml is built from, so that a feature can own its own
section's model (handlers/emulation/settings.py) while bot/config.py validates the whole file."""

from datetime import time

from pydantic import BaseModel, ConfigDict


class ConfigError(Exception):
    """A config problem, phrased for the person who edits config.toml."""


class StrictModel(BaseModel):
    """A config section: an unknown key is an error (a typo), not silently ignored."""

    model_config = ConfigDict(extra="forbid")


def clock_time(value: object) -> object:
    """A local time of day written "HH:MM" in the file, for a `mode="before"` validator
    (other values go on to pydantic)."""
    if isinstance(value, str):
        hours, sep, minutes = value.strip().partition(":")
        if not (
            sep
            and hours.isascii()
            and hours.isdigit()
            and minutes.isascii()
            and minutes.isdigit()
            and int(hours) < 24
            and int(minutes) < 60
        ):
            raise ValueError(f"'{value}' không phải giờ hợp lệ (ví dụ: \"08:00\")")
        return time(int(hours), int(minutes))
    return value
