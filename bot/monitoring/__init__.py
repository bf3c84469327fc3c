"""Knowing the bot is healthy: heartbeats of the apps and workers (`beats.py`), the /healthz
report (`health.py`), Prometheus metrics (`metrics.py`), the delivery workers' heartbeat in
the database for other processes (`beacon.py`) and the admin chat's stall alerts
(`stall.py`). See docs/monitoring.md."""
