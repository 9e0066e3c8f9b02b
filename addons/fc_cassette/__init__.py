"""fc-cassette: record/replay proxy for Stripe Financial Connections Sessions."""

__version__ = "0.1.0"
