"""A real SMTP server for the email tests (aiosmtpd from PyPI): accepts every message and writes
it to <dir>/<n>.json as {"mail_from", "rcpt_tos", "subject", "body", "content"} (`body`: the
decoded HTML part; written to a temporary name, then renamed, so readers never see half a file). Refuses (554) messages to addresses starting with
"reject". Prints "ready" once it listens.

    python3 tests/clients/smtp_sink.py <port> <dir> [implicit|starttls <cert.pem> <key.pem>]

With `implicit` the server speaks TLS from the first byte; with `starttls` it requires STARTTLS.
"""

import email
import email.header
import json
import ssl
import os
import sys
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.lock = threading.Lock()
        self.count = len(os.listdir(directory))

    async def handle_DATA(self, server, session, envelope):
        # A recipient whose address starts with "reject" stands for a mail server that refuses.
        if any(r.startswith("reject") for r in envelope.rcpt_tos):
            return "554 Transaction failed: rejected by the test"
        with self.lock:
            self.count += 1
            n = self.count
        path = os.path.join(self.directory, f"{n:05}.json")
        raw = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        message = email.message_from_bytes(raw)
        parts = [p for p in message.walk() if p.get_content_type() == "text/html"] or [message]
        body = parts[0].get_payload(decode=True).decode(parts[0].get_content_charset() or "utf-8", "replace")
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "subject": str(email.header.make_header(email.header.decode_header(message.get("Subject", "")))),
            "body": body,
            "content": raw.decode("utf-8", "replace"),
        }
        with open(path + ".tmp", "w") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        return "250 Message accepted for delivery"


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    os.makedirs(directory, exist_ok=True)
    options = {}
    if len(sys.argv) > 3:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(sys.argv[4], sys.argv[5])
        if sys.argv[3] == "implicit":
            options = {"ssl_context": context}
        else:
            options = {"tls_context": context, "require_starttls": True}
    controller = Controller(Sink(directory), hostname="127.0.0.1", port=port, **options)
    controller.start()
    print("ready", flush=True)
    try:
        threading.Event().wait()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
