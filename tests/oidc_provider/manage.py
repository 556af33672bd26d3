#!/usr/bin/env python
"""A tiny OpenID Connect provider (django-oauth-toolkit) for Mairie's end-to-end login tests.

Not part of Mairie: the tests start it as a subprocess, with its own SQLite file and RSA key,
to play FranceConnect or ProConnect against the real allauth client. See provider_site/.
"""

import os
import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "provider_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
