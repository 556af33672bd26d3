"""Fixtures of the booking tests: a manager of each service, rooms, and local times."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.utils import timezone

from mairie.booking import services
from mairie.core.factories import agent_factory
from mairie.core.organisation.models import Role

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def at(days: int, hour: int, minute: int = 0) -> datetime.datetime:
    """`days` from today (Paris), at hour:minute Paris time."""
    day = timezone.localdate(timezone.now(), PARIS) + datetime.timedelta(days=days)
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=PARIS)


def next_thursday(hour: int, minute: int = 0, weeks: int = 0) -> datetime.datetime:
    today = timezone.localdate(timezone.now(), PARIS)
    ahead = (3 - today.weekday()) % 7 or 7
    return at(ahead + 7 * weeks, hour, minute)


@pytest.fixture
def manager(service):
    return agent_factory(service=service, role=Role.MANAGER, email="chef@valmont.example",
                         first_name="Claire", last_name="Chef")


@pytest.fixture
def colleague(service):
    return agent_factory(service=service, email="collegue@valmont.example",
                         first_name="Paul", last_name="Collègue")


@pytest.fixture
def planner(other_service):
    """An agent of the other service (Urbanisme)."""
    return agent_factory(service=other_service, email="urba@valmont.example",
                         first_name="Ursule", last_name="Urba")


@pytest.fixture
def planning_manager(other_service):
    return agent_factory(service=other_service, role=Role.MANAGER,
                         email="chef-urba@valmont.example", first_name="Hervé",
                         last_name="Chef-Urba")


@pytest.fixture
def make_resource(administrator, service):
    def make(name="Salle du conseil", *, kind="room", owner=None, rights=(), **fields):
        return services.create_resource(actor=administrator, service=owner or service,
                                        kind=kind, name=name, rights=rights, **fields)
    return make


@pytest.fixture
def room(make_resource):
    return make_resource("Salle du conseil", capacity=20, equipment=["Vidéoprojecteur"],
                         accessible=True)


@pytest.fixture
def laptop(make_resource):
    return make_resource("Portable PC-12", kind="equipment", inventory_number="INV-0012")
