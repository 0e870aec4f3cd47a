"""The service's routers, one per area: pages, files, cone search, TAP."""
