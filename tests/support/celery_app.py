"""The Celery app as tests run it: the product's app plus the test operators."""

from tests.support import operators as _test_operators  # noqa: F401 - registers operators
from webapi.worker import celery_app

__all__ = ["celery_app"]
