"""`tinyrnn serve`: the playground (server.py) on a local port, until Ctrl-C."""
import asyncio
import logging
import os
import socket
import sys

from ..errors import Terminated, TinyRNNError
from ..io import load_model

ALL_INTERFACES = ("0.0.0.0", "::", "")
LOCAL_NAMES = ("127.0.0.1", "localhost", "[::1]")


def run(args):
    model_path, host, port, allow_host = args.model, args.host, args.port, args.allow_host

    try:
        import uvicorn
        from ..server import HOST, create_app
    except ImportError:
        raise TinyRNNError("serve needs Starlette and uvicorn: python -m pip install starlette uvicorn (or "
                           "the serve extra, '.[serve]' in a checkout of tinyrnn)") from None
    model = load_model(model_path)
    if model.config.features or model.task in ("regress", "forecast"):
        raise TinyRNNError(f"{model_path} is {model.describe(short=True)}; the playground serves classifiers "
                           f"of texts, language models and translators (see tinyrnn predict, eval, explain "
                           f"and forecast)")
    listener = _listen(host, port)
    port = listener.getsockname()[1]
    for name in allow_host:
        if not HOST.fullmatch(name) or HOST.fullmatch(name).group(2):
            raise TinyRNNError(f"--allow-host {name!r}: give a host name or address, without a port")
    names = {*LOCAL_NAMES, *allow_host}
    if host not in ALL_INTERFACES:
        names.add(f"[{host}]" if ":" in host else host)
    app = create_app(model, os.path.basename(model_path), names)
    shown = "127.0.0.1" if host in ALL_INTERFACES else f"[{host}]" if ":" in host else host
    print(f"serving {model_path} at http://{shown}:{port}/ (Ctrl-C stops)\n{model.describe()}", flush=True)
    if host in ALL_INTERFACES and not allow_host:
        print("note: listening on every interface, but only requests for localhost are answered; "
              "add --allow-host NAME for the names other machines use", file=sys.stderr)
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=GRACE_SECONDS)
    logging.getLogger("uvicorn.error").addFilter(_not_cancelled)
    try:
        _Server(config).run(sockets=[listener])
    except (KeyboardInterrupt, Terminated):             # the way to stop a server: not an error
        pass
    print("tinyrnn serve: stopped", file=sys.stderr)
    return 0


GRACE_SECONDS = 2                        # the longest a stop waits for requests under way


def _Server(config):
    """uvicorn's server, whose every stop signal asks for the graceful stop (at most
    GRACE_SECONDS): a second Ctrl-C does not cancel its tasks half-way (uvicorn's forced
    exit logs their tracebacks)."""
    import uvicorn

    class Server(uvicorn.Server):
        def handle_exit(self, sig, frame):
            self._captured_signals.append(sig)       # (raised again once stopped: serve's except ends it)
            self.should_exit = True
    return Server(config)


def _not_cancelled(record):
    """False for the log record of a request cancelled by the stop (a stream still running
    GRACE_SECONDS after it): cut off, not an error. Every other record is kept."""
    return not (record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError))


def _listen(host, port):
    """A bound, listening TCP socket, or a one-line error (address in use, unknown host)."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(128)
    except (OSError, OverflowError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise TinyRNNError(f"cannot listen on {host}:{port} ({reason})") from None
    return listener
