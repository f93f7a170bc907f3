"""Every AWS service's IAM actions, resource types and condition keys (`load_services`).

See `lspolicy.services.catalog` for where the data comes from and how it is loaded.
"""

from __future__ import annotations

from lspolicy.services.catalog import DATA_FORMAT, ServiceCatalog, ServiceDataError, load_services
from lspolicy.services.intersect import (
    ArnPattern,
    arn_patterns_intersect,
    policy_arn_pattern,
    template_arn_pattern,
)
from lspolicy.services.model import (
    ActionResource,
    Service,
    ServiceAction,
    ServiceDataSource,
    ServiceResourceType,
)

__all__ = [
    "DATA_FORMAT",
    "ActionResource",
    "ArnPattern",
    "Service",
    "ServiceAction",
    "ServiceCatalog",
    "ServiceDataError",
    "ServiceDataSource",
    "ServiceResourceType",
    "arn_patterns_intersect",
    "load_services",
    "policy_arn_pattern",
    "template_arn_pattern",
]
