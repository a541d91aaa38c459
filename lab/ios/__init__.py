"""Cisco IOS-XE simulators: the Catalyst switch (platform ``cisco_ios``); the 9800 WLC builds on it."""

from lab.ios.switch import IOSSwitch

__all__ = ["IOSSwitch"]
