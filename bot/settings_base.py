"""The pieces every section of config.toml is built from, so that a feature can own its own
section's model (handlers/emulation/settings.py) while bot/config.py validates the whole file."""

from pydantic import BaseModel, ConfigDict


class ConfigError(Exception):
    """A config problem, phrased for the person who edits config.toml."""


class StrictModel(BaseModel):
    """A config section: an unknown key is an error (a typo), not silently ignored."""

    model_config = ConfigDict(extra="forbid")
