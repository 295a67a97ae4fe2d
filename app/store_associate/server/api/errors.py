"""Errors with a stable key and a sentence that says what to do, and how the OpenAPI documents them."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException

from .schemas.errors import ErrorOut


class ApiError(HTTPException):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(status_code=status, detail={"error": error, "message": message})


def not_found(error: str, message: str) -> ApiError:
    return ApiError(404, error, message)


def bad_request(error: str, message: str) -> ApiError:
    return ApiError(400, error, message)


# What each error status means in this API, for the OpenAPI. The `error` key in the body says which case it is.
ERROR_STATUSES: dict[int, str] = {
    400: "The request is well-formed but says something that cannot be (a malformed code, a blank search...)",
    401: "No valid credentials: sign in, or send the device token, session or API key this needs",
    403: "Signed in, but this role or store may not do this",
    404: "What the request names (a store, product, order, device, transfer) does not exist, or not for you",
    409: "It conflicts with the current state (a retry with another body, nothing to ship from, ...)",
    413: "The request body is larger than the server takes",
    422: "The request does not fit the schema, or a rule of its content (error request.invalid and where)",
    423: "Locked after too many wrong PINs: wait, or ask a manager",
    503: "The server is too busy to take this now: send it again shortly",
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """A route's `responses=` for the error statuses it gives itself (the common ones, from its permission and
    its inputs, are added to every operation by app.document_errors)."""
    return {status: {"model": ErrorOut, "description": ERROR_STATUSES[status]} for status in statuses}
