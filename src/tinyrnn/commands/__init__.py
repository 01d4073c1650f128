"""One module per tinyrnn subcommand, each with an entry run(args); shared helpers in common.py.

cli.py parses the command line and picks the module. Nothing is imported here, so that a broken
command module cannot break the others.
"""
