"""Products: the nomenclature of goods and services."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from registry import products
from webapi.auth import current_actor
from webapi.etags import etag_doc, expected_version, tagged
from webapi.registry_schemas import (
    ProductInSchema,
    ProductPageSchema,
    ProductPatchSchema,
    ProductQuerySchema,
    ProductSchema,
)

from .common import errors, secured

PREFIX = "/products"
blp = Blueprint("products", __name__, description="The nomenclature")


@blp.route("")
class Products(MethodView):
    @secured(blp)
    @blp.arguments(ProductQuerySchema, location="query")
    @blp.response(200, ProductPageSchema)
    @errors(blp, 422)
    def get(self, args: dict[str, Any]) -> Any:
        """Products by name words, code or type."""
        return products.find(current_actor(), **args)

    @secured(blp)
    @etag_doc(blp, 201)
    @blp.arguments(ProductInSchema)
    @blp.response(201, ProductSchema)
    @errors(blp, 403, 409, 422)
    def post(self, body: dict[str, Any]) -> Any:
        """Add a product (admins, catalog, sales and purchasing groups)."""
        return tagged(products.create(current_actor(), body), 201)


@blp.route("/<product_id>")
class Product(MethodView):
    @secured(blp)
    @etag_doc(blp)
    @blp.response(200, ProductSchema)
    @errors(blp, 404)
    def get(self, product_id: str) -> Any:
        """One by id."""
        return tagged(products.get(current_actor(), product_id))

    @secured(blp)
    @etag_doc(blp, write=True)
    @blp.arguments(ProductPatchSchema)
    @blp.response(200, ProductSchema)
    @errors(blp, 403, 404, 409, 422)
    def patch(self, body: dict[str, Any], product_id: str) -> Any:
        """Change some fields; `If-Match` (or `version`) refuses overwriting a newer change."""
        version = expected_version(body)
        return tagged(products.update(current_actor(), product_id, body, version))

    @secured(blp)
    @etag_doc(blp)
    @blp.response(200, ProductSchema)
    @errors(blp, 403, 404, 409)
    def delete(self, product_id: str) -> Any:
        """Archive a product."""
        return tagged(products.archive(current_actor(), product_id))
