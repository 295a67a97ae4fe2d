"""Errors with a stable key and a sentence that says what to do."""

from __future__ import annotations

from fastapi import HTTPException


class ApiError(HTTPException):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(status_code=status, detail={"error": error, "message": message})


def not_found(error: str, message: str) -> ApiError:
    return ApiError(404, error, message)


def bad_request(error: str, message: str) -> ApiError:
    return ApiError(400, error, message)
