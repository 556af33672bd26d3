#!/usr/bin/env python
"""Django's manage.py; `python -m mairie` does the same and more."""

from mairie.__main__ import main

if __name__ == "__main__":
    main()
