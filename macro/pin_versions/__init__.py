"""pin-versions: pin the Lambda functions Step Functions state machines invoke to retained,
immutable versions, as a CloudFormation macro (``Transform: PinVersions``)."""

__version__ = "0.1.0"
