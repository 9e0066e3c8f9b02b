"""Stripe's API as data: the wire facts every other layer builds on (lowest layer)."""
