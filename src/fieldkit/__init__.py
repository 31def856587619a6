"""fieldkit: offline-first, encrypted case notes and structured assessments for field work."""

__version__ = "0.1.0"
