"""Firmware lifecycle: the driver-agnostic upgrade procedure, the staged-rollout scheduler and its records."""
