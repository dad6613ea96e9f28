"""The driver (`Analysis`), the report it folds from its events, and the one settings object."""
