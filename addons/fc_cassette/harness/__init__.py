"""Harnesses around the proxy process: the pytest plugin and ``fc_cassette.proxy``."""
