"""Amazon Lightsail service knowledge as data: its IAM actions, resource types, ARN formats and
condition keys, from AWS's Service Authorization Reference
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html).
"""

from lspolicy.lightsail.catalog import (
    ACCESS_LEVELS,
    PROVENANCES,
    SERVICE_PREFIX,
    Action,
    ActionPattern,
    ActionResourceType,
    Catalog,
    CatalogDataError,
    ConditionKey,
    DataProblem,
    LightsailArn,
    ResourceType,
    Source,
    UnknownActionError,
    UnknownResourceTypeError,
    catalog_from_dict,
    catalog_from_json,
    compile_action_pattern,
    load_catalog,
    suggest_action,
)

__all__ = [
    "ACCESS_LEVELS",
    "PROVENANCES",
    "SERVICE_PREFIX",
    "Action",
    "ActionPattern",
    "ActionResourceType",
    "Catalog",
    "CatalogDataError",
    "ConditionKey",
    "DataProblem",
    "LightsailArn",
    "ResourceType",
    "Source",
    "UnknownActionError",
    "UnknownResourceTypeError",
    "catalog_from_dict",
    "catalog_from_json",
    "compile_action_pattern",
    "load_catalog",
    "suggest_action",
]
