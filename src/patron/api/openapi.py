"""The OpenAPI document as Patron answers.

FastAPI builds the document from the routes' declarations (bodies, dependencies, security,
response models, error responses). One thing it adds on its own: a 422 response with its
`HTTPValidationError` shape on every operation that has parameters. Patron never sends that:
its adapters validate input themselves and answer 400 in the surface's envelope (a 422, where
a route declares one, is a business rule's refusal in the same envelope). `PatronAPI` drops
those default answers from the generated document, through FastAPI's own hook for extending
the document (overriding `openapi()`).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

_DEFAULT_422 = "#/components/schemas/HTTPValidationError"
_DEFAULT_SCHEMAS = ("HTTPValidationError", "ValidationError")


def drop_default_validation_errors(document: dict[str, Any]) -> None:
    """Remove FastAPI's default 422 answers and, once unused, their schemas."""
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            answer = operation.get("responses", {}).get("422")
            if answer is None:
                continue
            schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
            if schema.get("$ref") == _DEFAULT_422:
                del operation["responses"]["422"]
    schemas = document.get("components", {}).get("schemas", {})
    for name in _DEFAULT_SCHEMAS:
        schemas.pop(name, None)


class PatronAPI(FastAPI):
    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            drop_default_validation_errors(super().openapi())
        assert self.openapi_schema is not None
        return self.openapi_schema
