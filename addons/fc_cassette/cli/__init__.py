"""The ``fc-cassette`` command: argument parsing (:mod:`.args`), one-line errors
(:mod:`.errors`), the entry point (:mod:`.app`) and one module per offline subcommand."""

from fc_cassette.cli.app import main as main
