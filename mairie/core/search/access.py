"""Access keys: how a document says who may find it, in a form SQL can filter on.

A document lists keys; a user holds keys (`queries.access_keys_for`); the user finds the
document when the two lists meet. Modules build their documents' lists with these functions
(each takes the object or its primary key):

- `public_key(org)`     anyone on the organisation's portal, signed in or not;
- `users_key(org)`      any signed-in account of the organisation (residents included);
- `agents_key(org)`     every agent of the organisation (holder of at least one role);
- `role_key(org, role)` holders of a role anywhere in the organisation (e.g. directors);
- `service_key(svc)`    members of one service, whatever their role;
- `user_key(user)`      one person (a resident's own dossier, an agent's own task).
"""

from __future__ import annotations


def _pk(obj_or_pk) -> str:
    return str(getattr(obj_or_pk, "pk", obj_or_pk))


def public_key(organisation) -> str:
    return f"org:{_pk(organisation)}:public"


def users_key(organisation) -> str:
    return f"org:{_pk(organisation)}:users"


def agents_key(organisation) -> str:
    return f"org:{_pk(organisation)}:agents"


def role_key(organisation, role: str) -> str:
    return f"org:{_pk(organisation)}:role:{role}"


def service_key(service) -> str:
    return f"service:{_pk(service)}"


def user_key(user) -> str:
    return f"user:{_pk(user)}"
