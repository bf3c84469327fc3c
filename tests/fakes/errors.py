"""The error answer both fakes give: ``{"ok": false, "error_code", "description"}`` (plus
``parameters``, e.g. retry_after), with error_code as the HTTP status unless told otherwise."""

from __future__ import annotations

from starlette.responses import JSONResponse, PlainTextResponse, Response

from tests.fakes import JSONDict


class ApiError(Exception):
    """Raised anywhere inside a fake's method handling; the endpoint turns it into the answer.
    ``body_text`` answers with that non-JSON text instead (an HTML page from a proxy, say)."""

    def __init__(
        self,
        code: int,
        description: str,
        parameters: JSONDict | None = None,
        *,
        http_status: int | None = None,
        body_text: str | None = None,
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.http_status = http_status if http_status is not None else code
        self.parameters = parameters
        self.body_text = body_text

    def body(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body

    def response(self) -> Response:
        if self.body_text is not None:
            return PlainTextResponse(self.body_text, status_code=self.http_status)
        return JSONResponse(self.body(), status_code=self.http_status)
