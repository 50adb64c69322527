"""The supervisors' board: an aiohttp app rendering incidents from Redis."""
