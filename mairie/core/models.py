"""Abstract bases shared by every domain model."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class BaseModel(models.Model):
    """UUID primary key (opaque in URLs) and creation/update timestamps."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        abstract = True


class OrganisationScopedQuerySet(models.QuerySet):
    def for_organisation(self, organisation):
        return self.filter(organisation=organisation)


class OrganisationScopedModel(BaseModel):
    """A row that belongs to one collectivité. Query functions always filter on it."""

    organisation = models.ForeignKey(
        "tenancy.Organisation", on_delete=models.CASCADE, related_name="+",
        verbose_name=_("collectivité"),
    )

    objects = OrganisationScopedQuerySet.as_manager()

    class Meta:
        abstract = True
