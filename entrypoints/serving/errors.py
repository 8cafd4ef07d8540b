"""The server's errors: each is an HTTP status and one line, answered as {"error": "..."}."""

from __future__ import annotations


class HttpError(Exception):
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(HttpError):
    status = 400


class Unauthorized(HttpError):
    status = 401


class NotFound(HttpError):
    status = 404


class BodyTimedOut(HttpError):
    status = 408


class TooLarge(HttpError):
    status = 413


class Unavailable(HttpError):
    status = 503


class TimedOut(HttpError):
    status = 504
