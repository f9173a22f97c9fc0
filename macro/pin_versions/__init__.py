"""pin-versions: pin the Lambda functions Step Functions state machines invoke to retained,
immutable versions, as a CloudFormation macro (``Transform: PinVersions``).

The public API, for the command line, the bench and the tests::

    from pin_versions import Context, Result, TransformError, Diagnostic, transform

    result = transform(template, Context(region, account_id, parameters))
    result.template, result.report  # the processed template and what was done

``transform`` raises ``TransformError`` (its ``diagnostics`` list every problem found, each a
``Diagnostic`` with a stable code) and never mutates its input.
"""

from __future__ import annotations

__version__ = "0.1.0"

# Imported eagerly: the function ``transform`` shares its name with its module, and a lazy
# attribute would be shadowed by the module as soon as anything imported it. The handler
# imports all of these anyway, so its cold import costs the same.
from .inventory import Context
from .report import Diagnostic, TransformError
from .transform import Result, transform

__all__ = ["Context", "Diagnostic", "Result", "TransformError", "__version__", "transform"]
