"""The package version, in the lowest layer (cassette headers and ``--version`` read it)."""

__version__ = "0.1.0"
