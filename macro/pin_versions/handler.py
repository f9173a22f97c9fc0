"""The Lambda adapter: macro request in, macro response out. Never raises.

Logs one structured line per request with counts and warning codes; never the template and
never parameter values (they can hold secrets).
"""

from __future__ import annotations

import gc
import time
from typing import Any

from aws_lambda_powertools import Logger

from .event import failure as failure_response
from .event import parse_request, request_id_of
from .event import success as success_response
from .inventory import Context
from .report import InternalError, TransformError, error_message
from .transform import transform

logger = Logger(service="pin-versions")


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    started = time.perf_counter()
    request_id = request_id_of(event)
    log: dict[str, Any] = {"requestId": request_id}
    aws_request_id = getattr(context, "aws_request_id", None)
    if isinstance(aws_request_id, str):
        log["awsRequestId"] = aws_request_id
    # The transform builds many small objects and no cycles: the cyclic collector would only
    # walk them over and over. Reference counting still frees everything.
    collecting = gc.isenabled()
    gc.disable()
    try:
        request = parse_request(event)
        result = transform(
            request.fragment,
            Context(request.region, request.account_id, dict(request.parameter_values)),
        )
        response = success_response(request.request_id, result.template)
        log.update(status="success", **result.report.summary())
    except TransformError as error:
        if isinstance(error, InternalError):
            logger.error(
                "PinVersions internal error",
                extra={"requestId": request_id, "where": error.diagnostics[0].path},
                exc_info=error.cause,
            )
        response = failure_response(request_id, error_message(error.diagnostics))
        log.update(status="failure", errors=sorted({d.code for d in error.diagnostics}))
    except Exception as error:  # the macro must answer, whatever happened
        logger.exception("PinVersions internal error", extra={"requestId": request_id})
        response = failure_response(
            request_id, error_message([InternalError("", error).diagnostics[0]])
        )
        log.update(status="failure", errors=["PV900"])
    finally:
        if collecting:
            gc.enable()
    log["durationMs"] = round((time.perf_counter() - started) * 1000, 3)
    logger.info("PinVersions transform", extra=log)
    return response
