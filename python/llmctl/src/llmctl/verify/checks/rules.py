"""What the host checks compare, as plain functions (tested without a host)."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

LOOPBACK, ALL = "loopback", "all"
WILDCARDS = ("0.0.0.0", "::", "*")
MIN_SECRET_CHARS = 6


def url_port(url: str) -> int:
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def url_host(url: str) -> str:
    """The host name or address of `url`, without brackets or port ("" when it has none)."""
    return urlsplit(url).hostname or ""


def is_loopback(address: str) -> bool:
    address = address.strip("[]")
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def expected_bind(url: str) -> str:
    """A loopback URL means the service must listen on loopback only; any other host
    name or address means it must listen on every address (it is reached from outside)."""
    return LOOPBACK if is_loopback(url_host(url)) else ALL


def bound_addresses(listening: list[str], port: int) -> set[str]:
    """Addresses listening on TCP `port`, from testinfra's `socket.get_listening_sockets()`
    ("tcp://0.0.0.0:22", "tcp://:::22", "tcp://127.0.0.1:8080")."""
    found = set()
    for entry in listening:
        if not entry.startswith("tcp://"):
            continue
        address, _, found_port = entry[len("tcp://") :].rpartition(":")
        if found_port == str(port):
            found.add(address.strip("[]") or "*")
    return found


def bind_problem(addresses: set[str], port: int, expected: str) -> str | None:
    """Why the bound addresses do not match the spec, or None."""
    if not addresses:
        return f"nothing listens on TCP port {port}"
    shown = ", ".join(sorted(addresses))
    exposed = sorted(a for a in addresses if not is_loopback(a))
    if expected == LOOPBACK and exposed:
        return f"port {port} listens on {', '.join(exposed)}; the spec says loopback only"
    if expected == ALL and not any(a in WILDCARDS for a in addresses):
        return f"port {port} listens only on {shown}; the spec says all addresses"
    return None


def open_ports(ruleset: str) -> set[int]:
    """TCP ports a firewall ruleset accepts: nftables (`tcp dport 22 accept`,
    `tcp dport { 22, 4001 } accept`) or iptables-save (`--dport 4001 -j ...accept`)."""
    ports: set[int] = set()
    for line in ruleset.splitlines():
        if "accept" not in line.lower():
            continue
        for match in re.finditer(r"tcp dport (\{[^}]*\}|\S+)", line):
            ports |= _port_list(match.group(1))
        for match in re.finditer(r"--dports? (\S+)", line):
            ports |= _port_list(match.group(1).replace(":", "-"))
    return ports


def _port_list(text: str) -> set[int]:
    ports: set[int] = set()
    for item in re.split(r"[\s,{}]+", text):
        low, _, high = item.partition("-")
        if low.isdigit() and (not high or high.isdigit()):
            ports.update(range(int(low), int(high or low) + 1))
    return ports


def secret_needles(content: str) -> list[str]:
    """The strings of a secret file that must not appear elsewhere: the whole content
    and, for environment files, every value."""
    needles = [content.strip()]
    for line in content.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and not key.strip().startswith("#"):
            needles.append(value.strip().strip("'\""))
    return [needle for needle in dict.fromkeys(needles) if len(needle) >= MIN_SECRET_CHARS]


def first_api_key(content: str) -> str | None:
    """The first key of a gateway API key file, read as the gateway reads it: one key
    per line, blank lines and lines starting with # ignored."""
    keys = (line.strip() for line in content.splitlines())
    return next((key for key in keys if key and not key.startswith("#")), None)
