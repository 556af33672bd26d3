"""The search index: one row per findable object, with the access keys that may see it.

Modules never touch these rows directly: they call `services.index_document(...)` from their
own services (or signal receivers) and `queries.search(...)` to read. The full-text part lives
outside the model, created by a vendor-specific migration (0002): a `search_vector` tsvector
column with a GIN index on PostgreSQL, an FTS5 virtual table `search_fts` on SQLite.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class SearchDocument(models.Model):
    # An integer key (not the usual UUID): SQLite's FTS5 table is keyed by rowid.
    id = models.BigAutoField(primary_key=True)
    organisation = models.ForeignKey("tenancy.Organisation", on_delete=models.CASCADE,
                                     related_name="+", verbose_name=_("collectivité"))
    object_type = models.CharField(_("type d'objet"), max_length=100)
    object_id = models.CharField(_("identifiant d'objet"), max_length=64)
    title = models.CharField(_("titre"), max_length=300)
    body = models.TextField(_("texte"), blank=True)
    url = models.CharField(_("adresse"), max_length=500)
    updated_at = models.DateTimeField(_("mis à jour le"), auto_now=True)

    class Meta:
        verbose_name = _("document indexé")
        verbose_name_plural = _("documents indexés")
        constraints = [
            models.UniqueConstraint(fields=["organisation", "object_type", "object_id"],
                                    name="search_one_document_per_object"),
        ]

    def __str__(self) -> str:
        return self.title


class SearchDocumentAccess(models.Model):
    """One access key of a document (`org:<id>:agents`, `service:<id>`, `user:<id>`, …):
    a user sees the document when one of their keys is in its list (see `access.py`)."""

    document = models.ForeignKey(SearchDocument, on_delete=models.CASCADE,
                                 related_name="access")
    key = models.CharField(_("clé d'accès"), max_length=120)

    class Meta:
        verbose_name = _("clé d'accès")
        verbose_name_plural = _("clés d'accès")
        constraints = [
            models.UniqueConstraint(fields=["document", "key"], name="search_access_unique"),
        ]

    def __str__(self) -> str:
        return self.key
