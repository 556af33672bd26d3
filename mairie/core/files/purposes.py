"""What each kind of upload may contain, how big it may be, and who may read it.

Every upload is stored *for a purpose* ("logo", "procedures.attachment", …). A module registers
its purposes once (in its `AppConfig.ready()`), and `services.store_upload` refuses anything the
purpose does not allow. Names must be unique across the project: prefix them with the app label.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

StrOrPromise = str | Promise

# SVG is XML that can carry scripts and external references; it is refused everywhere
# (docs/decisions/0140-svg-refused.md). Same for HTML and XML, which browsers may render.
FORBIDDEN_TYPES = frozenset({"image/svg+xml", "text/html", "application/xml",
                             "application/xhtml+xml"})

ReadPredicate = Callable[[object, object], bool]
UploadPredicate = Callable[[object, object], bool]


@dataclass(frozen=True)
class Purpose:
    name: str
    allowed: frozenset[str]
    max_bytes: int
    label: StrOrPromise = ""
    # can_read(user, stored_file): who may download a private file of this purpose, besides
    # nobody. None means the default: the uploader or an administrator of the organisation.
    can_read: ReadPredicate | None = None
    # can_upload(user, organisation): None means any caller the module's service lets through
    # (anonymous citizens included, for procedures open without an account).
    can_upload: UploadPredicate | None = None
    extra: dict = field(default_factory=dict)


_registry: dict[str, Purpose] = {}


def register_purpose(
    name: str,
    *,
    allowed: Iterable[str],
    max_bytes: int,
    label: StrOrPromise = "",
    can_read: ReadPredicate | None = None,
    can_upload: UploadPredicate | None = None,
) -> Purpose:
    """Declare an upload purpose. Re-registering a name replaces it (handy in tests)."""
    allowed = frozenset(allowed)
    if not allowed:
        raise ImproperlyConfigured(f"Upload purpose {name!r} allows no file type.")
    dangerous = allowed & FORBIDDEN_TYPES
    if dangerous:
        raise ImproperlyConfigured(
            f"Upload purpose {name!r} allows {sorted(dangerous)}, which can carry scripts "
            "(see docs/decisions/0140-svg-refused.md).")
    if max_bytes <= 0:
        raise ImproperlyConfigured(f"Upload purpose {name!r} needs a positive max_bytes.")
    purpose = Purpose(name=name, allowed=allowed, max_bytes=max_bytes, label=label,
                      can_read=can_read, can_upload=can_upload)
    _registry[name] = purpose
    return purpose


def unregister_purpose(name: str) -> None:
    _registry.pop(name, None)


def get_purpose(name: str) -> Purpose:
    try:
        return _registry[name]
    except KeyError:
        raise ImproperlyConfigured(
            f"Unknown upload purpose {name!r}: call files.purposes.register_purpose() first."
        ) from None


def registered_purposes() -> dict[str, Purpose]:
    return dict(_registry)


def _register_kernel_purposes() -> None:
    """The kernel's own uploads: the organisation's logo (public, shown in every header)."""
    from mairie.core.organisation.queries import is_org_administrator

    register_purpose(
        "logo",
        allowed={"image/png", "image/jpeg", "image/webp"},
        max_bytes=2 * 1024 * 1024,
        label=_("Logo de la collectivité"),
        can_upload=lambda user, organisation: is_org_administrator(user, organisation),
    )
