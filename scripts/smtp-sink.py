#!/usr/bin/python3
"""A local SMTP server that keeps every message it receives as a file.

    smtp-sink.py --port PORT --dir DIR

Each message lands in DIR as a file (written to a temporary name first,
then renamed: a reader never sees half a mail): a consistency check's report
as check-run-<run id>.eml (check-run-<id>-2.eml and so on for another of the
same id, from another database or a resend), anything else as
<time>-<n>.eml. Stops on SIGTERM or Ctrl-C. For development and tests only:
it accepts mail for anyone.
"""
import argparse
import asyncio
import email.parser
import email.policy
import itertools
import os
import re
import signal
import time

from aiosmtpd.controller import Controller


class Keep:
    def __init__(self, directory):
        self.directory = directory
        self.counter = itertools.count(1)

    def name(self, content):
        headers = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(content)
        run = re.match(r"\[family\] consistency check run (\d+) ", str(headers["Subject"] or ""))
        if not run:
            return f"{time.time():.6f}-{next(self.counter)}.eml"
        for n in itertools.count(1):
            name = f"check-run-{run.group(1)}" + (f"-{n}" if n > 1 else "") + ".eml"
            if not os.path.exists(os.path.join(self.directory, name)):
                return name

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content or envelope.content
        name = self.name(content)
        tmp = os.path.join(self.directory, "." + name)
        with open(tmp, "wb") as f:
            f.write(content)
        os.rename(tmp, os.path.join(self.directory, name))
        return "250 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    controller = Controller(Keep(args.dir), hostname="127.0.0.1", port=args.port)
    controller.start()
    print(f"smtp sink on 127.0.0.1:{args.port}, mail in {args.dir}", flush=True)
    loop = asyncio.new_event_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    loop.run_until_complete(stop)
    controller.stop()


if __name__ == "__main__":
    main()
