"""secpol - Python client of secpold, the secpol security-policy service.

    import secpol
    with secpol.Client("tcp://127.0.0.1:7420") as client:
        print(client.Health.Check().status)

secpol.client has the manual; secpol.v1 holds the message modules protoc
generates from proto/secpol/v1 at build time (health_pb2, policy_pb2, ...).
"""

from secpol.client import (
    DEFAULT_ENDPOINT,
    DEFAULT_TIMEOUT,
    SERVICES,
    Client,
    SecpolError,
    Status,
    Violation,
    load_certificate,
    method_path,
    methods,
)

__all__ = [
    "Client",
    "DEFAULT_ENDPOINT",
    "DEFAULT_TIMEOUT",
    "SERVICES",
    "SecpolError",
    "Status",
    "Violation",
    "load_certificate",
    "method_path",
    "methods",
]
