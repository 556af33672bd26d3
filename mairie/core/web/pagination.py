"""Counting and paginating lists that can hold millions of rows (decision 0450).

An exact `COUNT(*)` of a million dossiers costs hundreds of milliseconds on every page view;
nobody reads past a few hundred pages. Counts are therefore exact up to a cap and said as
"more than N" beyond it: `capped_counts` counts several querysets in one query, each stopping
at its cap, and `CappedPaginator` pages through the first `cap` rows.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property


def capped_counts(querysets: Mapping[str, QuerySet], cap: int) -> dict[str, int]:
    """{name: number of rows of the queryset, at most cap + 1}, in one query.

    Each count reads at most cap + 1 rows (`SELECT COUNT(*) FROM (… LIMIT cap + 1)`), so its
    cost does not grow with the table; a result above `cap` means "more than cap"."""
    found = dict.fromkeys(querysets, 0)
    parts: list[str] = []
    params: list = []
    names: list[str] = []
    alias = "default"
    for name, queryset in querysets.items():
        try:
            sql, query_params = (queryset.order_by().values("pk")[:cap + 1]
                                 .query.sql_with_params())
        except EmptyResultSet:
            continue  # e.g. `pk__in=[]`: nothing to count, no SQL to run
        alias = queryset.db
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS capped_{len(names)})")
        params.extend(query_params)
        names.append(name)
    if names:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(parts), params)
            found.update(zip(names, cursor.fetchone(), strict=True))
    return found


class CappedPaginator(Paginator):
    """A paginator whose count stops at `cap` rows: `capped` says there are more, and the
    pages cover the first `cap` rows (the page asks to narrow the filter beyond them)."""

    def __init__(self, object_list, per_page, *, cap: int, **kwargs) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self.cap = cap

    @cached_property
    def _capped_count(self) -> int:
        rows: QuerySet = self.object_list  # type: ignore[assignment]
        return capped_counts({"rows": rows}, self.cap)["rows"]

    @cached_property
    def count(self) -> int:  # type: ignore[override]
        return min(self._capped_count, self.cap)

    @property
    def capped(self) -> bool:
        """More rows than `cap` match."""
        return self._capped_count > self.cap
