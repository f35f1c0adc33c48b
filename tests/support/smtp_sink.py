"""A real SMTP server for the test suite (aiosmtpd): `python3 smtp_sink.py DIR PORT`.

Every accepted message is written to DIR as NNNN.eml (raw) and NNNN.json (decoded: envelope, headers, each
part's content type and text), so tests can read what a patient would. A file DIR/mode switches behaviour:
`transient` answers 421 to DATA, `permanent` answers 550; absent or `ok`, messages are accepted.
"""
import asyncio
import email
import email.policy
import itertools
import json
import os
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.counter = itertools.count()

    def mode(self):
        try:
            with open(os.path.join(self.directory, "mode")) as f:
                return f.read().strip()
        except FileNotFoundError:
            return "ok"

    async def handle_DATA(self, server, session, envelope):
        mode = self.mode()
        if mode == "transient":
            return "421 4.3.2 Service not available, try again later"
        if mode == "permanent":
            return "550 5.1.1 Mailbox unavailable"
        name = "%04d" % next(self.counter)
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        parts = []
        for part in message.walk():
            if part.is_multipart():
                continue
            parts.append({
                "content_type": part.get_content_type(),
                "params": dict(part.get_params() or []),
                "filename": part.get_filename(),
                "text": part.get_content() if part.get_content_maintype() == "text" else None,
            })
        decoded = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "headers": {k: str(v) for k, v in message.items()},
            "parts": parts,
        }
        path = os.path.join(self.directory, name)
        with open(path + ".eml", "wb") as f:
            f.write(envelope.original_content)
        with open(path + ".json.tmp", "w") as f:
            json.dump(decoded, f)
        os.rename(path + ".json.tmp", path + ".json")
        return "250 2.0.0 Ok: queued as " + name


async def main():
    directory, port = sys.argv[1], int(sys.argv[2])
    controller = Controller(Sink(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
