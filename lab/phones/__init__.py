"""Simulated VoIP desk phones (Poly, Yealink, Cisco MPP): importing the package registers their platforms."""

from lab.phones import cisco_mpp, poly  # noqa: F401  (import registers the platform)
