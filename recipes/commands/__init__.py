"""One module per ``mtlzoo`` subcommand: ``HELP``, ``add_arguments(parser)`` and ``run(args)``."""
