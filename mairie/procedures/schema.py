"""A procedure's form schema: checking it when saved, and turning a page of it into a form.

The schema is the JSON frozen on a ProcedureVersion (pages → fields, see
`fieldtypes.FIELD_TYPES`). This module is pure: no model, no request. Views call
`build_page_form(...)` for the page being filled in, store the uploads it returns
(`form.pending_uploads`), then merge `form.answers` into the dossier's data.

Conditional fields are always in the form (the page works without JavaScript): a field whose
condition is false, given the saved answers and what was just posted, is simply not required,
its errors are dropped and its answer is cleared. Repeatable blocks are flat inputs named
`<block>-<index>-<sub>` with a hidden `<block>-count`; the submit buttons `_add_<block>` and
`_remove_<block>-<index>` change the number of items server-side.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping
from typing import Any, cast

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.forms.utils import ErrorDict
from django.utils.translation import gettext as _

from .expressions import RESERVED_NAMES, ExpressionError, compile_expression, is_true
from .fieldtypes import (
    FIELD_TYPES,
    PREFILL_SOURCES,
    AddressType,
    get_field_type,
    prefill_value,
)

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
BLOCK_DEFAULT_MAX = 20


# Reading a schema ------------------------------------------------------------------------------

def pages_of(schema: Mapping) -> list[dict]:
    pages = schema.get("pages") if isinstance(schema, Mapping) else None
    return [p for p in pages if isinstance(p, dict)] if isinstance(pages, list) else []


def fields_of(container: Mapping) -> list[dict]:
    fields = container.get("fields")
    return [f for f in fields if isinstance(f, dict)] if isinstance(fields, list) else []


def iter_fields(schema: Mapping) -> Iterator[tuple[dict, dict]]:
    """Every top-level field with its page, in form order (blocks' sub-fields are inside)."""
    for page in pages_of(schema):
        for field in fields_of(page):
            yield page, field


def get_page(schema: Mapping, page_key: str) -> dict:
    for page in pages_of(schema):
        if page.get("key") == page_key:
            return page
    raise KeyError(page_key)


def _has_input(field: Mapping) -> bool:
    field_type = FIELD_TYPES.get(field.get("type", ""))
    return field_type is not None and field_type.has_input


def answer_names(schema: Mapping) -> set[str]:
    """Names an expression of this schema may read: the keys of fields that take an answer."""
    return {field["key"] for _page, field in iter_fields(schema)
            if _has_input(field) and isinstance(field.get("key"), str)}


def _block_limits(field: Mapping) -> tuple[int, int]:
    """(min, max) number of items; a required block has at least one."""
    options = field.get("options") or {}
    low = options.get("min", 0) if isinstance(options.get("min", 0), int) else 0
    high = options.get("max", BLOCK_DEFAULT_MAX)
    high = high if isinstance(high, int) else BLOCK_DEFAULT_MAX
    low = max(low, 1 if field.get("required") else 0)
    return low, max(high, low, 1)


# Checking a schema when it is saved ------------------------------------------------------------

def validate_schema(schema: Any) -> list[str]:
    """Everything wrong with a schema, as French sentences for the agent building it.

    An empty list means the schema can be saved. Expressions are compiled against the
    schema's own field keys, so a typo in a condition is caught here, not by a resident.
    """
    errors: list[str] = []
    if not isinstance(schema, Mapping) or not isinstance(schema.get("pages"), list):
        return [_("Le formulaire doit contenir une liste de pages.")]
    if not schema["pages"]:
        return [_("Le formulaire doit contenir au moins une page.")]
    names = answer_names(schema)
    addresses = {field["key"] for _page, field in iter_fields(schema)
                 if field.get("type") == "address"}
    seen: set[str] = set()

    def check_key(key: Any, where: str) -> None:
        if not isinstance(key, str) or not KEY_PATTERN.match(key):
            errors.append(_("%(where)s : la clé « %(key)s » doit commencer par une lettre "
                            "minuscule et ne contenir que des minuscules sans accent, des "
                            "chiffres et « _ » (50 caractères au plus).")
                          % {"where": where, "key": key})
        elif key in RESERVED_NAMES:
            errors.append(_("%(where)s : la clé « %(key)s » est réservée au langage des "
                            "conditions.") % {"where": where, "key": key})
        elif key in seen:
            errors.append(_("%(where)s : la clé « %(key)s » est déjà utilisée.")
                          % {"where": where, "key": key})
        else:
            seen.add(key)

    def check_condition(text: Any, where: str, known: set[str], known_addresses: set[str]) -> None:
        if text in (None, ""):
            return
        if not isinstance(text, str):
            errors.append(_("%(where)s : la condition doit être un texte.") % {"where": where})
            return
        try:
            expression = compile_expression(text, names=known)
        except ExpressionError as error:
            errors.append(_("%(where)s : condition « %(text)s » : %(error)s")
                          % {"where": where, "text": text, "error": error})
            return
        for name in sorted(expression.address_names - known_addresses):
            errors.append(_("%(where)s : condition « %(text)s » : « %(name)s » n'est pas une "
                            "adresse, il n'a pas de partie après le point.")
                          % {"where": where, "text": text, "name": name})

    def check_field(field: Any, where_page: str, known: set[str], known_addresses: set[str],
                    in_block: bool) -> None:
        if not isinstance(field, Mapping):
            errors.append(_("%(where)s : un champ est mal formé.") % {"where": where_page})
            return
        key = field.get("key")
        where = _("%(page)s, champ « %(key)s »") % {"page": where_page, "key": key}
        check_key(key, where)
        field_type = FIELD_TYPES.get(field.get("type", ""))
        if field_type is None:
            errors.append(_("%(where)s : le type « %(type)s » n'existe pas. Types possibles : "
                            "%(types)s.") % {"where": where, "type": field.get("type"),
                                             "types": ", ".join(FIELD_TYPES)})
            return
        if not isinstance(field.get("label"), str) or not field["label"].strip():
            errors.append(_("%(where)s : le libellé est obligatoire.") % {"where": where})
        if "required" in field and not isinstance(field["required"], bool):
            errors.append(_("%(where)s : « obligatoire » doit valoir vrai ou faux.")
                          % {"where": where})
        options = field.get("options", {})
        if options is None:
            options = {}
        if not isinstance(options, Mapping):
            errors.append(_("%(where)s : les options sont mal formées.") % {"where": where})
            options = {}
        errors.extend(f"{where} : {message}" for message in field_type.check_options(options))
        prefill = field.get("prefill")
        if prefill and prefill not in PREFILL_SOURCES:
            errors.append(_("%(where)s : le pré-remplissage « %(prefill)s » n'existe pas "
                            "(possibles : %(sources)s).")
                          % {"where": where, "prefill": prefill,
                             "sources": ", ".join(PREFILL_SOURCES)})
        check_condition(field.get("condition"), where, known, known_addresses)
        if in_block and field_type.key == "file":
            # Stored files are linked to a dossier by top-level key (services._store_files).
            errors.append(_("%(where)s : un fichier ne peut pas être demandé dans un bloc "
                            "répétable ; placez-le hors du bloc.") % {"where": where})
        if field_type.key == "block":
            if in_block:
                errors.append(_("%(where)s : un bloc répétable ne peut pas contenir un autre "
                                "bloc.") % {"where": where})
                return
            sub_fields = field.get("fields")
            if not isinstance(sub_fields, list) or not sub_fields:
                errors.append(_("%(where)s : un bloc répétable doit contenir au moins un "
                                "champ.") % {"where": where})
                return
            siblings = {s["key"] for s in sub_fields
                        if isinstance(s, Mapping) and _has_input(s)
                        and isinstance(s.get("key"), str)}
            sibling_addresses: set[Any] = {s.get("key") for s in sub_fields
                                 if isinstance(s, Mapping) and s.get("type") == "address"}
            for sub in sub_fields:
                check_field(sub, where, known | siblings, known_addresses | sibling_addresses,
                            True)

    for page in schema["pages"]:
        if not isinstance(page, Mapping):
            errors.append(_("Une page est mal formée."))
            continue
        where_page = _("Page « %(key)s »") % {"key": page.get("key")}
        check_key(page.get("key"), where_page)
        if not isinstance(page.get("title"), str) or not page["title"].strip():
            errors.append(_("%(where)s : le titre est obligatoire.") % {"where": where_page})
        check_condition(page.get("condition"), where_page, names, addresses)
        if not isinstance(page.get("fields", []), list):
            errors.append(_("%(where)s : les champs sont mal formés.") % {"where": where_page})
            continue
        for field in page.get("fields", []):
            check_field(field, where_page, names, addresses, False)
    return errors


# Which pages and fields apply -------------------------------------------------------------------

def effective_answers(schema: Mapping, answers: Mapping[str, Any]) -> dict[Any, Any]:
    """The answers as conditions see them: those of hidden pages and fields count as unanswered.

    Pages and fields are visited in form order, so a field hidden early also hides whatever
    depends on it later.
    """
    context: dict[Any, Any] = dict(answers or {})
    for page in pages_of(schema):
        page_visible = is_true(page.get("condition") or "", context)
        for field in fields_of(page):
            key = field.get("key")
            if not page_visible or not is_true(field.get("condition") or "", context):
                context[key] = None
    return context


def visible_pages(schema: Mapping, answers: Mapping[str, Any]) -> list[dict]:
    """The pages the applicant must go through, given what they answered so far."""
    context: dict[Any, Any] = dict(answers or {})
    visible = []
    for page in pages_of(schema):
        if is_true(page.get("condition") or "", context):
            visible.append(page)
        else:
            for field in fields_of(page):
                context[field.get("key")] = None
            continue
        for field in fields_of(page):
            if not is_true(field.get("condition") or "", context):
                context[field.get("key")] = None
    return visible


def answers_summary(schema: Mapping, answers: Mapping[str, Any], *,
                    known_files: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """(label, value as shown) for every visible answered field, for receipts and the dossier.

    File answers (StoredFile ids) are shown by their original names: from `known_files`
    ({id: name}, e.g. the dossier's files the page lists anyway), else fetched in one query.
    """
    context = effective_answers(schema, answers)
    visible = {page.get("key") for page in visible_pages(schema, answers)}
    names = _file_names(schema, answers, known=known_files or {})
    summary: list[tuple[str, str]] = []
    for page, field in iter_fields(schema):
        if page.get("key") not in visible or not _has_input(field):
            continue
        value = context.get(field.get("key"))
        if field.get("type") == "block":
            for index, item in enumerate(value or [], start=1):
                parts = []
                for sub in fields_of(field):
                    if not _has_input(sub) or not isinstance(item, Mapping):
                        continue
                    if not is_true(sub.get("condition") or "", {**context, **item}):
                        continue
                    shown = _display(sub, item.get(sub.get("key")), names)
                    if shown:
                        parts.append(f"{sub.get('label')} : {shown}")
                summary.append((f"{field.get('label')} ({index})", " ; ".join(parts)))
            continue
        shown = _display(field, value, names)
        if shown:
            summary.append((field.get("label", ""), shown))
    return summary


def _display(field: Mapping, value: Any, file_names: Mapping[str, str]) -> str:
    if value is None or value == "" or value == []:
        return ""
    if field.get("type") == "file":
        ids = value if isinstance(value, list) else [value]
        return ", ".join(file_names.get(str(v), str(v)) for v in ids)
    return get_field_type(field.get("type", "")).display(value, field)


def _file_names(schema: Mapping, answers: Mapping[Any, Any], *,
                known: Mapping[str, str]) -> dict[str, str]:
    ids: set[str] = set()

    def collect(value: Any) -> None:
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, str):
                try:
                    ids.add(str(uuid.UUID(v)))
                except ValueError:
                    pass

    for _page, field in iter_fields(schema):
        value = (answers or {}).get(field.get("key"))
        if field.get("type") == "file":
            collect(value)
        elif field.get("type") == "block" and isinstance(value, list):
            for sub in fields_of(field):
                if sub.get("type") == "file":
                    for item in value:
                        if isinstance(item, Mapping):
                            collect(item.get(sub.get("key")))
    if not ids:
        return {}
    if ids <= set(known):
        return {pk: known[pk] for pk in ids}
    from mairie.core.files.models import StoredFile

    return {str(pk): name for pk, name in
            StoredFile.objects.filter(pk__in=ids).values_list("pk", "original_name")}


# The form of one page --------------------------------------------------------------------------

class PageForm(forms.Form):
    """The fields of one page. After `is_valid()`, `answers` holds the JSON-ready answers
    of the page (`{key: value}`, None for fields hidden by their condition)."""

    _errors: ErrorDict  # set by BaseForm.full_clean() (undeclared in django-stubs)

    def __init__(self, *, schema: Mapping, page: Mapping, answers: Mapping[str, Any] | None,
                 data=None, files=None, user=None) -> None:
        self.schema, self.page, self.user = schema, page, user
        self.previous = dict(answers or {})
        self.block_action: tuple | None = None
        if data is not None:
            data, files = self._apply_block_action(data, files)
        super().__init__(data=data, files=files)
        self.layout: list[dict] = []
        self.hidden_keys: set[str] = set()
        self._hidden_names: set[str] = set()
        self._stored: dict[str, str] = {}
        self._blocks: dict[str, int] = {}
        context = effective_answers(schema, self.previous)
        for field in fields_of(page):
            # validate_schema() made every key a string before the schema could be saved.
            self.layout.append(self._add(field, cast(str, field.get("key")), context,
                                         self.previous))

    # Building ------------------------------------------------------------------------------

    def _add(self, spec: Mapping, name: str, context: dict, saved: Mapping) -> dict:
        """Add the inputs of `spec` under the flat name `name`; return its layout entry."""
        key, kind = spec.get("key"), spec.get("type")
        condition = spec.get("condition") or ""
        entry: dict[str, Any] = {"key": key, "kind": kind, "name": name, "spec": spec,
                                 "label": spec.get("label", ""), "condition": condition}
        field_type = get_field_type(cast(str, kind))
        if not field_type.has_input:
            entry["kind"] = "comment"
            entry["text"] = spec.get("label", "")
            return entry
        if kind == "block":
            return self._add_block(spec, name, context, saved, entry)
        value = saved.get(key) if isinstance(saved, Mapping) else None
        if value in (None, "", []) and spec.get("prefill"):
            value = prefill_value(spec["prefill"], self.user)
        if isinstance(field_type, AddressType):
            subfields = field_type.subfields(spec)
            names = []
            for part, form_field in subfields.items():
                self.fields[f"{name}-{part}"] = form_field
                if isinstance(value, Mapping):
                    self.initial[f"{name}-{part}"] = value.get(part, "")
                names.append(f"{name}-{part}")
        else:
            form_field = field_type.form_field(spec)
            if kind == "file" and value:
                form_field.help_text = _("%(help)s Un fichier est déjà joint : n'en choisissez "
                                         "un autre que pour le remplacer.") % {
                    "help": form_field.help_text}
            self.fields[name] = form_field
            if value not in (None, ""):
                self.initial[name] = value
            names = [name]
        entry["names"] = names
        posted = self._posted_value(spec, name) if self.is_bound else value
        context[key] = posted if self.is_bound else context.get(key, value)
        visible = is_true(condition, context)
        if not visible:
            context[key] = None
            self.hidden_keys.add(name)
            self._hidden_names.update(names)
            for n in names:
                self.fields[n].required = False
        if condition:
            for n in names:
                self.fields[n].widget.attrs["data-condition"] = condition
        entry["visible"] = visible
        return entry

    def _add_block(self, spec: Mapping, name: str, context: dict, saved: Mapping,
                   entry: dict) -> dict:
        key = spec.get("key")
        low, high = _block_limits(spec)
        items = saved.get(key) if isinstance(saved, Mapping) else None
        items = items if isinstance(items, list) else []
        count_name = f"{name}-count"
        if self.is_bound:
            count = _int(self.data.get(count_name), default=len(items))
        else:
            count = len(items)
        count = min(max(count, low), high)
        self._blocks[name] = count
        self.fields[count_name] = forms.IntegerField(widget=forms.HiddenInput, required=False)
        self.initial[count_name] = count
        visible = is_true(spec.get("condition") or "", context)
        entry.update(count_name=count_name, add_name=f"_add_{name}", can_add=count < high,
                     can_remove=count > low, visible=visible, items=[], min=low, max=high)
        values = []
        for index in range(count):
            saved_item = items[index] if index < len(items) and isinstance(items[index],
                                                                             Mapping) else {}
            item_context = {**context, **saved_item}
            item_entries = []
            for sub in fields_of(spec):
                sub_entry = self._add(sub, f"{name}-{index}-{sub.get('key')}", item_context,
                                      saved_item)
                if not visible:
                    for n in sub_entry.get("names", []):
                        self.fields[n].required = False
                        self._hidden_names.add(n)
                item_entries.append(sub_entry)
            values.append({k: v for k, v in item_context.items() if k in
                           {s.get("key") for s in fields_of(spec)}})
            entry["items"].append({"index": index, "number": index + 1,
                                   "remove_name": f"_remove_{name}-{index}",
                                   "entries": item_entries})
        context[key] = values if visible else None
        if not visible:
            self.hidden_keys.add(name)
        return entry

    def _posted_value(self, spec: Mapping, name: str) -> Any:
        """What was just posted for a field, cleaned if it is valid (for conditions)."""
        kind = cast(str, spec.get("type"))
        field_type = get_field_type(kind)
        if kind == "file":
            upload = self.files.get(name)
            return upload.name if upload else self.previous.get(cast(str, spec.get("key")))
        if isinstance(field_type, AddressType):
            parts = {}
            for part, form_field in field_type.subfields(spec).items():
                raw = form_field.widget.value_from_datadict(self.data, self.files,
                                                            f"{name}-{part}")
                parts[part] = raw if isinstance(raw, str) else ""
            return field_type.combine(parts)
        form_field = self.fields[name]
        raw = form_field.widget.value_from_datadict(self.data, self.files, name)
        try:
            return form_field.clean(raw)
        except forms.ValidationError:
            return None

    def _apply_block_action(self, data, files):
        """Handle the "add one more" / "remove this one" buttons of repeatable blocks."""
        for name in list(data.keys()):
            if name.startswith("_add_"):
                block = name[len("_add_"):]
                data = data.copy()
                count = _int(data.get(f"{block}-count"), default=0)
                data[f"{block}-count"] = str(count + 1)
                self.block_action = ("add", block)
                return data, files
            if name.startswith("_remove_") and "-" in name:
                block, _sep, index_text = name[len("_remove_"):].rpartition("-")
                index = _int(index_text, default=-1)
                count = _int(data.get(f"{block}-count"), default=0)
                if not 0 <= index < count:
                    continue
                data, files = _shift_items(data, files, block, index, count)
                previous = self.previous.get(block)
                if isinstance(previous, list) and index < len(previous):
                    self.previous[block] = previous[:index] + previous[index + 1:]
                self.block_action = ("remove", block, index)
                return data, files
        return data, files

    # Cleaning ------------------------------------------------------------------------------

    def full_clean(self) -> None:
        super().full_clean()
        if not self.is_bound:
            return
        for name in self._hidden_names:
            self._errors.pop(name, None)
        if self.block_action:
            # Adding or removing an item is not a submission: keep what was typed, no errors.
            self._errors = ErrorDict(renderer=self.renderer)

    def is_valid(self) -> bool:
        return super().is_valid() and not self.block_action

    def clean(self):
        """Check blocks' item counts, then turn the flat inputs into the page's answers:
        `cleaned_data` becomes `{key: value}` (a block is a list of dicts, an address a dict,
        a new upload an `UploadedFile` to store, a kept file its id). Fields still in error
        are left out, so a draft can be saved with whatever is valid."""
        flat = super().clean()
        for entry in self.layout:
            if entry["kind"] != "block" or not entry["visible"]:
                continue
            if len(entry["items"]) < entry["min"]:
                self.add_error(None, _("%(label)s : ajoutez au moins %(min)s élément(s).")
                               % {"label": entry["label"], "min": entry["min"]})
        self.flat_cleaned_data = dict(flat)
        return self._structured(uploads=True)

    @property
    def answers(self) -> dict[str, Any]:
        """The page's answers, JSON-ready: like `cleaned_data`, with uploads replaced by the
        ids given to `set_stored_file` (or the file kept from before)."""
        if not hasattr(self, "flat_cleaned_data"):
            return {}
        return self._structured(uploads=False)

    def _structured(self, *, uploads: bool) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for entry in self.layout:
            if entry["kind"] == "block":
                if not entry["visible"]:
                    result[entry["key"]] = None
                    continue
                result[entry["key"]] = [
                    self._values(item["entries"], self._previous_item(entry, item), uploads)
                    for item in entry["items"]]
            else:
                result.update(self._values([entry], self.previous, uploads))
        return result

    def _previous_item(self, entry: dict, item: dict) -> Mapping:
        items = self.previous.get(entry["key"])
        if isinstance(items, list) and item["index"] < len(items) \
                and isinstance(items[item["index"]], Mapping):
            return items[item["index"]]
        return {}

    def _values(self, entries: list[dict], previous: Mapping, uploads: bool) -> dict:
        result: dict[str, Any] = {}
        for entry in entries:
            if entry["kind"] == "comment":
                continue
            if not entry["visible"]:
                result[entry["key"]] = None
                continue
            found, value = self._entry_answer(entry, previous, uploads)
            if found:
                result[entry["key"]] = value
        return result

    def _entry_answer(self, entry: dict, previous: Mapping, uploads: bool) -> tuple[bool, Any]:
        cleaned = self.flat_cleaned_data
        names = entry["names"]
        if any(name in self._errors for name in names):
            return False, None
        if entry["kind"] == "address":
            return True, AddressType().combine({n.rsplit("-", 1)[1]: cleaned.get(n)
                                                for n in names})
        name = names[0]
        if name not in cleaned:
            return False, None
        value = cleaned[name]
        if entry["kind"] == "file":
            if name in self._stored:
                return True, self._stored[name]
            if isinstance(value, UploadedFile):
                return True, value if uploads else previous.get(entry["key"])
            if not value:
                return True, previous.get(entry["key"])
        return True, value

    # Uploads -------------------------------------------------------------------------------

    @property
    def pending_uploads(self) -> dict[str, UploadedFile]:
        """Flat field name → upload to store (`files.forms.save_upload(form, name, …)`)."""
        cleaned = getattr(self, "flat_cleaned_data", {})
        return {name: value for name, value in cleaned.items()
                if isinstance(value, UploadedFile) and name not in self._hidden_names}

    def set_stored_file(self, name: str, stored_file_id: Any) -> None:
        """Record that the upload of field `name` was stored: `answers` then holds its id."""
        self._stored[name] = str(stored_file_id)


def _int(value: Any, *, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _shift_items(data, files, block: str, index: int, count: int):
    """Drop item `index` of a block from posted data, moving the following items up."""
    data = data.copy()
    files = files.copy() if files is not None else files
    prefix = f"{block}-"
    for source in (data, files):
        if source is None:
            continue
        moved = {}
        for name in list(source.keys()):
            if not name.startswith(prefix):
                continue
            head, _sep, rest = name[len(prefix):].partition("-")
            position = _int(head, default=-1)
            if position < index or not rest:
                continue
            values = source.getlist(name) if hasattr(source, "getlist") else [source[name]]
            del source[name]
            if position > index:
                moved[f"{prefix}{position - 1}-{rest}"] = values
        for name, values in moved.items():
            if hasattr(source, "setlist"):
                source.setlist(name, values)
            else:
                source[name] = values[0]
    data[f"{block}-count"] = str(count - 1)
    return data, files


def build_page_form(schema: Mapping, page_key: str, *, answers: Mapping[str, Any] | None,
                    data=None, files=None, user=None) -> PageForm:
    """The form of page `page_key`, prefilled from `answers` (and the account for fields
    with a `prefill`), bound to `data`/`files` when given."""
    return PageForm(schema=schema, page=get_page(schema, page_key), answers=answers,
                    data=data, files=files, user=user)
