"""The shared kernel of Mairie: tenancy, users, organisation chart, audit, notifications, files,
search and the web shell. No domain logic lives here."""
