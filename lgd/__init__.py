"""lgd — live analysis of leaderless group discussions.

This package holds what every stage shares: settings, typed events, the event bus,
the report builder and the command line. Stages live in their own top-level packages:
media → diarize → interaction → server/dashboard.
"""

__version__ = "0.1.0"
