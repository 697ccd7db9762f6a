"""Products (the nomenclature): every signed-in user reads them; admins and members of
PRODUCT_EDITOR_GROUPS change them."""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from mongoengine.errors import NotUniqueError

from engine.actor import Actor

from . import audit, search
from .common import (
    FieldErrors,
    check_currency,
    check_length,
    check_version,
    ensure_active,
    merge_filters,
    object_id,
    save_changed,
    stamp_created,
    text,
    to_minor,
)
from .errors import DuplicateObject, ProductNotFound, RegistryForbidden
from .models import Product
from .pagination import Page, Sort, paginate, pick_sort, sorts

PRODUCT_EDITOR_GROUPS = frozenset({"catalog", "sales", "purchasing"})
EDITABLE = ("code", "name", "unit", "product_type", "price", "currency", "description")
AUDITED = ("code", "name", "unit", "product_type", "price_minor", "currency", "description")
SORTS = sorts(
    Sort("name", "sort_name", unique=True),
    Sort("-name", "sort_name", descending=True, unique=True),
    Sort("code", "code", unique=True),
)


def may_edit(actor: Actor) -> bool:
    """Whether the actor may change the nomenclature."""
    return actor.is_admin or bool(actor.groups & PRODUCT_EDITOR_GROUPS)


def _ensure_editor(actor: Actor) -> None:
    if not may_edit(actor):
        raise RegistryForbidden("only the catalog, sales and purchasing groups change products")


def clean(values: dict[str, Any]) -> tuple[dict[str, Any], FieldErrors]:
    """Normalized product fields and the field errors found (no database access)."""
    errors = FieldErrors()
    out: dict[str, Any] = {
        k: text(values.get(k)) for k in ("code", "name", "unit", "product_type", "description")
    }
    out["unit"] = out["unit"] or "шт"
    out["currency"] = text(values.get("currency")) or "RUB"
    for key in ("code", "name"):
        if not out[key]:
            errors.add(key, "is required")
    check_length(errors, "code", out["code"], 64)
    check_length(errors, "name", out["name"], 500)
    check_length(errors, "unit", out["unit"], 20)
    check_length(errors, "product_type", out["product_type"], 100)
    check_length(errors, "description", out["description"])
    check_currency(errors, "currency", out["currency"])
    out["price_minor"] = to_minor(values.get("price"), "price", errors)
    return out, errors


def _apply(product: Product, values: dict[str, Any]) -> None:
    for key in ("code", "name", "unit", "product_type", "description", "currency", "price_minor"):
        setattr(product, key, values[key])
    if product.id is None:
        product.id = ObjectId()
    product.search_text = search.normalize(f"{product.code} {product.name}")
    product.search_tokens = search.tokens(product.code, product.name)
    product.sort_name = search.sort_key(product.name, product.id)


def _duplicate(code: str) -> DuplicateObject:
    return DuplicateObject(
        f"a product with code {code} exists", {"code": ["a product with this code exists"]}
    )


def create(actor: Actor, values: dict[str, Any]) -> Product:
    """Add a product to the nomenclature."""
    _ensure_editor(actor)
    cleaned, errors = clean(values)
    errors.raise_if_any("the product has invalid fields")
    product = Product()
    _apply(product, cleaned)
    stamp_created(product, actor)
    try:
        product.save(force_insert=True)
    except NotUniqueError as exc:
        raise _duplicate(product.code) from exc
    audit.record(
        actor,
        "created",
        "product",
        product.id,
        None,
        audit.created(audit.snapshot(product, AUDITED)),
    )
    return product


def get(actor: Actor, product_id: Any) -> Product:
    """A product (every signed-in user reads the nomenclature)."""
    product = Product.objects(id=object_id(product_id, ProductNotFound, "product")).first()
    if product is None:
        raise ProductNotFound(f"no product {product_id}")
    return product


def update(
    actor: Actor, product_id: Any, changes: dict[str, Any], expected_version: int | None = None
) -> Product:
    """Change the given fields of a product."""
    _ensure_editor(actor)
    product = get(actor, product_id)
    ensure_active(product, "product")
    before = audit.snapshot(product, AUDITED)
    check_version(product, expected_version)
    current = {k: getattr(product, k) for k in EDITABLE}
    cleaned, errors = clean({**current, **changes})
    errors.raise_if_any("the product has invalid fields")
    _apply(product, cleaned)
    changed = audit.diff(before, audit.snapshot(product, AUDITED))
    if not changed:
        return product
    try:
        save_changed(product, actor, expected_version)
    except NotUniqueError as exc:
        raise _duplicate(product.code) from exc
    audit.record(actor, "updated", "product", product.id, None, changed)
    return product


def archive(actor: Actor, product_id: Any) -> Product:
    """Archive (soft-delete) a product."""
    _ensure_editor(actor)
    product = get(actor, product_id)
    if product.archived:
        return product
    product.archived, product.archived_by = True, actor.username
    save_changed(product, actor)
    audit.record(
        actor, "archived", "product", product.id, None, {"archived": {"from": False, "to": True}}
    )
    return product


def find(
    actor: Actor,
    *,
    q: str | None = None,
    product_type: str | None = None,
    archived: bool | None = False,
    sort: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[Product]:
    """Products matching the filters, one page at a time."""
    parts: list[dict[str, Any]] = []
    if archived is not None:
        parts.append({"archived": archived})
    if q:
        parts.append(search.word_filter(q) or {"_id": None})
    if product_type:
        parts.append({"product_type": product_type})
    where = merge_filters(*parts)
    return paginate(Product, where, pick_sort(SORTS, sort, "name"), limit, cursor)


def existing_ids(ids: list[ObjectId]) -> set[ObjectId]:
    """Which of `ids` are products."""
    return {p.id for p in Product.objects(id__in=ids).only("id")}
