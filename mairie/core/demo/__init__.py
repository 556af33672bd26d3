"""The demo collectivité, "Commune de Valmont": data (`data`) and its idempotent loader
(`loader.load_demo`), used by `python -m mairie demo` and by tests that want a realistic org."""
