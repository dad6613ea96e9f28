"""lgd — live analysis of leaderless group discussions.

This package is the command line (`lgd analyze|serve|simulate|export|…`). The product's
packages follow the data path: core → media → diarize → interaction → analysis → hr,
dashboard → server (docs/design.md, "Layout").
"""

__version__ = "0.1.0"
