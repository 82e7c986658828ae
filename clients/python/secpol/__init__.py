"""secpol - Python client of secpold, the secpol security-policy service.

    import secpol
    with secpol.Client("tcp://127.0.0.1:7420") as client:
        print(client.Health.Check().status)
    client = secpol.Client("tcp://10.0.0.1:7420,tcp://10.0.0.2:7420")  # several instances

secpol.client has the manual; secpol.v1 holds the message modules protoc
generates from proto/secpol/v1 at build time (health_pb2, policy_pb2, ...).
"""

from secpol.client import (
    DEFAULT_ENDPOINT,
    DEFAULT_TIMEOUT,
    IDEMPOTENT,
    MAX_ENDPOINTS,
    SERVICES,
    Client,
    SecpolError,
    Status,
    Violation,
    idempotent,
    load_certificate,
    method_path,
    methods,
)

__all__ = [
    "Client",
    "DEFAULT_ENDPOINT",
    "DEFAULT_TIMEOUT",
    "IDEMPOTENT",
    "MAX_ENDPOINTS",
    "SERVICES",
    "SecpolError",
    "Status",
    "Violation",
    "idempotent",
    "load_certificate",
    "method_path",
    "methods",
]
