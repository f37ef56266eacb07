#! /usr/bin/env python3
"""A TCP proxy between a migration's destination and its source, for the
fault tests: it forwards one connection at a time, and on request damages or
holds back what the source sends.

usage: wire-proxy.py LISTEN_IP:PORT TARGET_IP:PORT [--corrupt-at=N]
                     [--stall-file=PATH]

--corrupt-at=N   flips the bits of byte N (from 0) of the first connection's
                 source-to-destination stream, once.
--stall-file=P   while file P exists, holds back everything the source sends
                 (the destination's requests still go through).

Prints "listening" once it accepts, and "corrupted byte N" when it has.
"""

import os
import selectors
import socket
import sys


def parse_addr(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    opts = dict(a[2:].split("=", 1) for a in sys.argv[1:]
                if a.startswith("--"))
    if len(args) != 2 or set(opts) - {"corrupt-at", "stall-file"}:
        sys.exit(__doc__)
    listen, target = parse_addr(args[0]), parse_addr(args[1])
    corrupt_at = int(opts["corrupt-at"]) if "corrupt-at" in opts else None
    stall_file = opts.get("stall-file")

    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(listen)
    server.listen(8)
    print("listening", flush=True)

    first = True
    while True:
        down, _ = server.accept()
        up = socket.create_connection(target)
        relay(down, up, corrupt_at if first else None, stall_file)
        first = False


def relay(down, up, corrupt_at, stall_file):
    """Relays until either side closes.  'down' is the destination, 'up'
    the source."""
    sel = selectors.DefaultSelector()
    sel.register(down, selectors.EVENT_READ, up)
    sel.register(up, selectors.EVENT_READ, down)
    from_up = 0
    held = b""
    while True:
        stalled = stall_file is not None and os.path.exists(stall_file)
        if held and not stalled:
            down.sendall(held)
            held = b""
        for key, _ in sel.select(timeout=0.05):
            src, dst = key.fileobj, key.data
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                down.close()
                up.close()
                return
            if src is up:
                if corrupt_at is not None and \
                        from_up <= corrupt_at < from_up + len(data):
                    i = corrupt_at - from_up
                    data = data[:i] + bytes([data[i] ^ 0xff]) + data[i + 1:]
                    print("corrupted byte %d" % corrupt_at, flush=True)
                from_up += len(data)
                if stalled:
                    held += data
                    continue
            dst.sendall(data)


if __name__ == "__main__":
    main()
