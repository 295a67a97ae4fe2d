"""The body of every error answer."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    error: str = Field(description="a stable key (also the i18n key the app shows), e.g. store.not_found")
    message: str = Field(description="what happened and what to do, in English, for people reading logs and the API")


class ErrorOut(BaseModel):
    """Every error answer (4xx and 5xx), FastAPI's own validation errors included."""

    detail: ErrorDetail
