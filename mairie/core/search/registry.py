"""The kinds of objects the search finds: their label in results, and how to rebuild them.

A module registers each of its types once, in its `AppConfig.ready()`:

    register_object_type("procedures.dossier", label=_("Dossier"), documents=dossier_entries)

`documents(organisation)` yields an `IndexEntry` per object that should be findable; the
`search reindex` command uses it to rebuild the index from the module's data (and to drop rows
whose object is gone). Types without it keep their rows as indexed by the module's services.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class IndexEntry:
    obj_id: str
    title: str
    body: str
    url: str
    access_keys: list[str]


DocumentsProvider = Callable[[object], Iterable[IndexEntry]]


@dataclass(frozen=True)
class ObjectType:
    name: str
    label: str
    documents: DocumentsProvider | None = None


_registry: dict[str, ObjectType] = {}


def register_object_type(name: str, *, label, documents: DocumentsProvider | None = None,
                         ) -> ObjectType:
    object_type = ObjectType(name=name, label=label, documents=documents)
    _registry[name] = object_type
    return object_type


def unregister_object_type(name: str) -> None:
    _registry.pop(name, None)


def object_type_label(name: str) -> str:
    object_type = _registry.get(name)
    return str(object_type.label) if object_type is not None else name


def registered_object_types() -> dict[str, ObjectType]:
    return dict(_registry)
