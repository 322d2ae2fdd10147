"""``streamkit dlq show``: one dead letter, its redrive state and its payload decoded."""

from __future__ import annotations

import argparse
import sys

import orjson

from streamkit.local.dlq.errors import DlqCommandError
from streamkit.local.dlq.select import find
from streamkit.local.dlq.store import DeadLetterStore


def show_dead_letter(args: argparse.Namespace, store: DeadLetterStore) -> int:
    """Print the document, then the payload as text (UTF-8) or a hex preview.

    With ``--payload`` only the raw payload bytes go to stdout. An object that is not
    a valid dead letter is shown with what is wrong with it, exit status 1 (with
    ``--payload``: an error, exit status 2, since it has no payload to write).
    """
    entry = find(store, args.ref, args.consumer)
    if entry.problem is not None:
        if args.payload:
            raise DlqCommandError(
                f"s3://{store.bucket}/{entry.key} is not a valid dead letter: {entry.problem}"
            )
        sys.stdout.write(
            f"s3://{store.bucket}/{entry.key}\nmalformed: not a valid dead letter: "
            f"{entry.problem}; it is never redriven\n"
        )
        if entry.doc:
            sys.stdout.write(
                orjson.dumps(entry.doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()
                + "\n"
            )
        return 1
    payload = entry.payload
    if args.payload:
        sys.stdout.flush()
        sys.stdout.buffer.write(payload)
        sys.stdout.buffer.flush()
        return 0
    out = sys.stdout
    out.write(f"s3://{store.bucket}/{entry.key}\n")
    out.write(orjson.dumps(entry.doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode())
    out.write("\n")
    marker = store.redrive_marker_docs().get(entry.key)
    if marker is None:
        out.write("redriven: no\n")
    else:
        details = ", ".join(f"{k} {v}" for k, v in marker.items() if k != "state")
        out.write(f"redriven: {marker.get('state')} ({details})\n")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        preview = payload[:64].hex(" ")
        more = f" … ({len(payload) - 64} more bytes)" if len(payload) > 64 else ""
        out.write(f"payload: {len(payload)} bytes, not UTF-8; hex:\n{preview}{more}\n")
    else:
        out.write(f"payload: {len(payload)} bytes, UTF-8 text:\n{text}\n")
    return 0
