"""congdoan-bot: the application shell (config, CLI, adapters, router). Knows no union feature."""
