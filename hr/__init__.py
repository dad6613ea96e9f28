"""What HR takes away from a report: exports (JSON, CSV, HTML, PDF), candidate feedback
pages, session-end webhooks."""
