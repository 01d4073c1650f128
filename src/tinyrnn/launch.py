"""The `tinyrnn` command's entry point. It imports the command line (and with it NumPy) only
inside its handler of Ctrl-C, so that Ctrl-C in the first tenths of a second ends the
command as it does later: one line, exit status 130. Once the command has returned, its work
is done and said: Ctrl-C, SIGTERM or SIGHUP while Python shuts down (a few tenths of a second with
NumPy and matplotlib loaded) are ignored, and the exit status stays the command's."""
import signal
import sys


def main(argv=None):
    """Run the command line (cli.main) on argv; returns the exit status."""
    try:
        from .cli import main as command_line
        status = command_line(argv)
    except KeyboardInterrupt:
        print("tinyrnn: interrupted by Ctrl-C; nothing was saved", file=sys.stderr)
        status = 130
    for signal_number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signal_number, signal.SIG_IGN)
    return status
