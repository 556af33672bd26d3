"""Browser journeys (a package, so that the browser fixtures are torn down when they end)."""
