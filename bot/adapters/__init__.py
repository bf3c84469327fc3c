"""Chat platforms: each turns its updates into Events and renders Messages natively."""
