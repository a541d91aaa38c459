"""Simulated VoIP desk phones (Poly, Yealink, Cisco MPP): importing the package registers their platforms."""

from lab.phones import cisco_mpp, poly, yealink  # noqa: F401  (import registers the platform)
