"""An SMTP server for Rollcall's tests: aiosmtpd on 127.0.0.1, STARTTLS required.

Usage: server.py PORT OUT_DIR CERT KEY

Each message accepted is written whole to OUT_DIR/NNNN.eml, with NNNN.json beside it
(envelope recipients, whether the session was encrypted). A recipient whose address
starts with "refuse" is refused (550), as a real server refuses an unknown mailbox.
Prints "ready" once it listens.
"""

import asyncio
import json
import os
import ssl
import sys

from aiosmtpd.controller import Controller


class Keep:
    def __init__(self, out):
        self.out = out
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("refuse"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.out, f"{self.count:04d}")
        with open(base + ".tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        with open(base + ".json", "w") as f:
            json.dump({"to": envelope.rcpt_tos, "tls": session.ssl is not None}, f)
        os.rename(base + ".tmp", base + ".eml")
        return "250 2.0.0 accepted"


def main():
    port, out, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    controller = Controller(
        Keep(out),
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
    )
    controller.start()
    print("ready", flush=True)
    loop = asyncio.new_event_loop()
    try:
        loop.run_forever()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
