"""The `tinyrnn` command's entry point. It imports the command line (and with it NumPy) only
inside its handler of Ctrl-C, so that Ctrl-C in the first tenths of a second ends the
command as it does later: one line, exit status 130."""
import sys


def main(argv=None):
    """Run the command line (cli.main) on argv; returns the exit status."""
    try:
        from .cli import main as command_line
        return command_line(argv)
    except KeyboardInterrupt:
        print("tinyrnn: interrupted by Ctrl-C; nothing was saved", file=sys.stderr)
        return 130
