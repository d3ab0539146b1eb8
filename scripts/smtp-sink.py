#!/usr/bin/python3
"""A local SMTP server that keeps every message it receives as a file.

    smtp-sink.py --port PORT --dir DIR

Each message lands in DIR as <time>-<n>.eml (written to a temporary name
first, then renamed: a reader never sees half a mail). Stops on SIGTERM or
Ctrl-C. For development and tests only: it accepts mail for anyone.
"""
import argparse
import asyncio
import itertools
import os
import signal
import time

from aiosmtpd.controller import Controller


class Keep:
    def __init__(self, directory):
        self.directory = directory
        self.counter = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        name = f"{time.time():.6f}-{next(self.counter)}.eml"
        tmp = os.path.join(self.directory, "." + name)
        with open(tmp, "wb") as f:
            f.write(envelope.original_content or envelope.content)
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
