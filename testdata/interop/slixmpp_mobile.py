#!/usr/bin/env python3
"""slixmpp as a phone: stream management with resumption (XEP-0198),
carbons (XEP-0280) and an archive query (XEP-0313) against jabberdesk.

Usage: slixmpp_mobile.py JID PASSWORD HOST PORT PEER

Driven by the Go test through stdin/stdout, one word per line:
  prints READY        once signed in with SM enabled and carbons on
  prints GOT <body>   for every chat message received
  prints CARBON <dir> <body> for every carbon received
  reads  DROP         -> drops the TCP connection without closing the stream, prints DROPPED
  reads  RECONNECT    -> connects again; prints RESUMED when the stream is resumed
  reads  MAM          -> queries the archive with PEER; prints MAM <n> <first body> <last body>
  reads  QUIT         -> disconnects and exits 0
Exits 1 on failed authentication or after 60 seconds.
"""
import asyncio
import logging
import ssl
import sys

import slixmpp


def say(line):
    print(line, flush=True)


class Phone(slixmpp.ClientXMPP):
    def __init__(self, jid, password, peer):
        super().__init__(jid, password, sasl_mech="SCRAM-SHA-256")
        self.peer = peer
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0059")
        self.register_plugin("xep_0198")
        self.register_plugin("xep_0280")
        self.register_plugin("xep_0297")
        self.register_plugin("xep_0313")
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("sm_enabled", self.sm_enabled)
        self.add_event_handler("session_resumed", lambda _: say("RESUMED"))
        self.add_event_handler("message", self.message)
        self.add_event_handler("carbon_received", lambda m: self.carbon("received", m))
        self.add_event_handler("carbon_sent", lambda m: self.carbon("sent", m))
        self.add_event_handler("failed_auth", self.failed)
        self.ready = asyncio.Event()
        self.sm_on = asyncio.Event()

    async def start(self, _):
        self.send_presence()
        await self.get_roster()
        await self["xep_0280"].enable()
        await self.sm_on.wait()
        say("READY")

    def sm_enabled(self, _):
        self.sm_on.set()

    def message(self, msg):
        if msg["type"] in ("chat", "normal") and msg["body"]:
            say("GOT " + msg["body"])

    def carbon(self, direction, msg):
        inner = msg["carbon_%s" % direction]
        say("CARBON %s %s" % (direction, inner["body"]))

    def failed(self, _):
        say("AUTH FAILED")
        sys.exit(1)

    async def mam(self):
        bodies = []
        async for m in self["xep_0313"].iterate(with_jid=slixmpp.JID(self.peer), rsm={"max": 2}):
            bodies.append(m["mam_result"]["forwarded"]["stanza"]["body"])
        say("MAM %d %s %s" % (len(bodies), bodies[0] if bodies else "-", bodies[-1] if bodies else "-"))


async def commands(phone, host, port):
    loop = asyncio.get_event_loop()
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
        if line == "DROP":
            phone.transport.abort()  # no stream close, no <a/>
            say("DROPPED")
        elif line == "RECONNECT":
            phone.connect((host, port))
        elif line == "MAM":
            await phone.mam()
        elif line in ("QUIT", ""):
            phone["xep_0198"].allow_resume = False
            phone.disconnect()
            return


def main():
    jid, password, host, port, peer = sys.argv[1:6]
    logging.basicConfig(level=logging.WARNING)
    phone = Phone(jid, password, peer)
    phone.ssl_context.check_hostname = False
    phone.ssl_context.verify_mode = ssl.CERT_NONE
    phone.connect((host, int(port)))
    loop = asyncio.get_event_loop()
    loop.run_until_complete(asyncio.wait_for(commands(phone, host, int(port)), 60))
    sys.exit(0)


if __name__ == "__main__":
    main()
