"""Orders (поручения): visible to every user; anyone may comment; sub-orders form a tree."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from mail import orders
from webapi.auth import current_actor

from .common import errors, secured
from .mail_common import attachment_response
from .mail_schemas import (
    MailCancelSchema,
    MailCommentInSchema,
    MailCommentListSchema,
    MailCommentSchema,
    MailProgressSchema,
    MailReportSchema,
    MailReviewSchema,
    OrderDetailSchema,
    OrderInSchema,
    OrderPageSchema,
    OrderQuerySchema,
    OrderTreeSchema,
)

PREFIX = "/orders"
blp = Blueprint("orders", __name__, description="Orders: visible to all, commented by anyone")


@blp.route("")
class Orders(MethodView):
    @secured(blp)
    @blp.arguments(OrderInSchema)
    @blp.response(201, OrderDetailSchema)
    @errors(blp, 403, 404, 409, 422)
    def post(self, body: dict[str, Any]) -> Any:
        """Issue an order (runs bpmn/order.bpmn); with `parent_id`, a sub-order by that
        order's issuer or one of its executors."""
        return orders.create(
            current_actor(),
            body["executors"],
            body["title"],
            body["due_at"],
            body["text"],
            body["attachments"],
            body.get("parent_id"),
        )

    @secured(blp)
    @blp.arguments(OrderQuerySchema, location="query")
    @blp.response(200, OrderPageSchema)
    @errors(blp, 422)
    def get(self, args: dict[str, Any]) -> Any:
        """Orders (every user sees every order), latest change first."""
        page = orders.list_for(
            current_actor(),
            args.get("q"),
            args.get("status"),
            args["involved"],
            args["top_level"],
            args["overdue"],
            args["limit"],
            args.get("cursor"),
        )
        return {"items": page.items, "next_cursor": page.next_cursor}


@blp.route("/<order_id>")
class Order(MethodView):
    @secured(blp)
    @blp.response(200, OrderDetailSchema)
    @errors(blp, 404)
    def get(self, order_id: str) -> Any:
        """An order with its history and direct sub-orders."""
        return orders.get(current_actor(), order_id)


@blp.route("/<order_id>/tree")
class Tree(MethodView):
    @secured(blp)
    @blp.response(200, OrderTreeSchema)
    @errors(blp, 404)
    def get(self, order_id: str) -> Any:
        """The order and all its sub-orders, with each node's state and rolled-up
        progress."""
        return orders.tree(current_actor(), order_id)


@blp.route("/<order_id>/start")
class Start(MethodView):
    @secured(blp)
    @blp.response(200, OrderDetailSchema)
    @errors(blp, 403, 404, 409)
    def post(self, order_id: str) -> Any:
        """An executor takes it up: in progress."""
        return orders.start_work(current_actor(), order_id)


@blp.route("/<order_id>/progress")
class Progress(MethodView):
    @secured(blp)
    @blp.arguments(MailProgressSchema)
    @blp.response(200, OrderDetailSchema)
    @errors(blp, 403, 404, 409, 422)
    def post(self, body: dict[str, Any], order_id: str) -> Any:
        """An executor tells how far the work is (0 to 99)."""
        return orders.set_progress(current_actor(), order_id, body["percent"], body["note"])


@blp.route("/<order_id>/report")
class Report(MethodView):
    @secured(blp)
    @blp.arguments(MailReportSchema)
    @blp.response(200, OrderDetailSchema)
    @errors(blp, 403, 404, 409, 422)
    def post(self, body: dict[str, Any], order_id: str) -> Any:
        """An executor reports it done; the issuer reviews next."""
        return orders.report(current_actor(), order_id, body["report"])


@blp.route("/<order_id>/review")
class Review(MethodView):
    @secured(blp)
    @blp.arguments(MailReviewSchema)
    @blp.response(200, OrderDetailSchema)
    @errors(blp, 403, 404, 409, 422)
    def post(self, body: dict[str, Any], order_id: str) -> Any:
        """The issuer accepts it or returns it for rework."""
        return orders.review(current_actor(), order_id, body["decision"], body["comment"])


@blp.route("/<order_id>/cancel")
class Cancel(MethodView):
    @secured(blp)
    @blp.arguments(MailCancelSchema)
    @blp.response(200, OrderDetailSchema)
    @errors(blp, 403, 404, 409)
    def post(self, body: dict[str, Any], order_id: str) -> Any:
        """The issuer cancels it, with all its sub-orders."""
        return orders.cancel(current_actor(), order_id, body["reason"])


@blp.route("/<order_id>/subscribe")
class Subscribe(MethodView):
    @secured(blp)
    @blp.response(200, OrderDetailSchema)
    @errors(blp, 404)
    def post(self, order_id: str) -> Any:
        """Follow the order's changes and comments."""
        return orders.subscribe(current_actor(), order_id, True)


@blp.route("/<order_id>/unsubscribe")
class Unsubscribe(MethodView):
    @secured(blp)
    @blp.response(200, OrderDetailSchema)
    @errors(blp, 404)
    def post(self, order_id: str) -> Any:
        """Stop following the order."""
        return orders.subscribe(current_actor(), order_id, False)


@blp.route("/<order_id>/comments")
class Comments(MethodView):
    @secured(blp)
    @blp.response(200, MailCommentListSchema)
    @errors(blp, 404)
    def get(self, order_id: str) -> Any:
        """The comments in thread order."""
        return {"items": orders.list_comments(current_actor(), order_id)}

    @secured(blp)
    @blp.arguments(MailCommentInSchema)
    @blp.response(201, MailCommentSchema)
    @errors(blp, 404, 409, 422)
    def post(self, body: dict[str, Any], order_id: str) -> Any:
        """Comment (anyone may), or answer a comment with `parent_id`; the author follows
        the order from then on."""
        return orders.add_comment(
            current_actor(), order_id, body["text"], body["attachments"], body.get("parent_id")
        )


@blp.route("/<order_id>/attachments/<attachment_id>")
class AttachmentContent(MethodView):
    @secured(blp)
    @blp.response(200, description="The attached file version")
    @errors(blp, 404, 409)
    def get(self, order_id: str, attachment_id: str) -> Any:
        """Download a file attached to an order."""
        return attachment_response(orders.open_attachment(current_actor(), order_id, attachment_id))


@blp.route("/<order_id>/comments/<comment_id>/attachments/<attachment_id>")
class CommentAttachmentContent(MethodView):
    @secured(blp)
    @blp.response(200, description="The attached file version")
    @errors(blp, 404, 409)
    def get(self, order_id: str, comment_id: str, attachment_id: str) -> Any:
        """Download a file attached to a comment on an order."""
        return attachment_response(
            orders.open_comment_attachment(current_actor(), order_id, comment_id, attachment_id)
        )
