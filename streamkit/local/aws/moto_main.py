"""``python -m streamkit.local.aws.moto_main -H HOST -p PORT``: the embedded endpoint's child.

Local tooling: never imported by a Lambda handler.

moto's own ``moto_server`` (the same application) with three differences that matter
when a run sends it tens of thousands of requests:

* served by waitress with HTTP/1.1 keep-alive and a fixed thread pool
  (:mod:`~streamkit.local.aws.keepalive`) instead of werkzeug's development server,
  which closes every connection and starts a thread per request; ``--server
  werkzeug`` (or ``STREAMKIT_MOTO_SERVER=werkzeug``, or waitress not installed) keeps
  werkzeug, with moto's request handler;
* no access log line per request (werkzeug formats and writes one under a lock for
  every request; errors are still logged);
* :func:`~streamkit.local.aws.moto_speedups.apply`: cheaper hot paths, same answers.

SIGTERM and SIGINT exit at once, as ``moto_server``'s do.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from typing import Any

from streamkit.local.aws import keepalive, moto_speedups


def _exit(signum: int, frame: Any) -> None:
    sys.exit(0)


def _exit_now(signum: int, frame: Any) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m streamkit.local.aws.moto_main")
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    parser.add_argument(
        "--server",
        choices=("waitress", "werkzeug"),
        # STREAMKIT_MOTO_SERVER picks one for the children LocalAWS starts.
        default=os.environ.get("STREAMKIT_MOTO_SERVER")
        or ("waitress" if keepalive.available() else "werkzeug"),
    )
    args = parser.parse_args(argv)

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )

    moto_speedups.apply()
    signal.signal(signal.SIGINT, _exit)
    signal.signal(signal.SIGTERM, _exit)
    # As moto_server: moto builds self-referencing URLs from MOTO_PORT; debug on.
    os.environ.setdefault("MOTO_PORT", str(args.port))
    app = DomainDispatcherApplication(create_backend_app)
    app.debug = True  # type: ignore[attr-defined]
    if args.server == "waitress":
        # At once, as werkzeug's: waitress's run() would catch the SystemExit and wait
        # up to 5 s for requests in flight (a long poll), past LocalAWS.stop()'s grace.
        # The state is throwaway.
        signal.signal(signal.SIGINT, _exit_now)
        signal.signal(signal.SIGTERM, _exit_now)
        keepalive.serve(app, args.host, args.port)
        return

    from werkzeug.serving import run_simple

    class QuietRequestHandler(MotoRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            """No access log line (errors still go through ``log_error``)."""

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    run_simple(args.host, args.port, app, threaded=True, request_handler=QuietRequestHandler)


if __name__ == "__main__":
    main()
