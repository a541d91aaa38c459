"""The aiphone-hardening device lab: a simulated site on 127.0.0.1 (see lab/README.md)."""
