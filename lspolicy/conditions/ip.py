"""IP address condition operators (IPv4 and IPv6, CIDR or single address).

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IPAddress
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

from lspolicy.conditions.base import OperatorSpec, ValueType

__all__ = ["OPERATORS", "parse_address", "parse_network"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=4096)
def parse_network(text: str) -> Network | None:
    """A CIDR block (host bits allowed, as IAM accepts them) or a single address."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


@lru_cache(maxsize=8192)
def parse_address(text: str) -> Address | None:
    """The request's address; a value with a prefix length (``/32``) is read as its network."""
    text = text.strip()
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        net = parse_network(text) if "/" in text else None
        return net.network_address if net is not None and net.num_addresses == 1 else None


def _in(network: Any, actual: str) -> bool:
    address = parse_address(actual)
    return address is not None and address.version == network.version and address in network


OPERATORS: tuple[OperatorSpec, ...] = (
    OperatorSpec("IpAddress", ValueType.IP, parse_network, _in),
    OperatorSpec(
        "NotIpAddress", ValueType.IP, parse_network, _in, negated=True, positive="IpAddress"
    ),
)
