#!/usr/bin/env python3
"""Sign in to a jabberdesk server with slixmpp and send one chat message.

Usage: slixmpp_send.py JID PASSWORD HOST PORT MECHANISM TO BODY

Exits 0 once the message is sent, 1 if the session never starts (failed
authentication, TLS or connection), within 20 seconds.
"""
import asyncio
import logging
import ssl
import sys

import slixmpp


class Sender(slixmpp.ClientXMPP):
    def __init__(self, jid, password, mech, to, body):
        super().__init__(jid, password, sasl_mech=mech)
        self.to, self.body, self.ok = to, body, False
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("failed_auth", self.failed)

    async def start(self, _):
        self.send_presence()
        await self.get_roster()
        self.send_message(mto=self.to, mbody=self.body, mtype="chat")
        self.ok = True
        # Give the stanza time to leave before closing the stream.
        await asyncio.sleep(0.5)
        self.disconnect()

    def failed(self, _):
        print("authentication failed", file=sys.stderr)
        self.disconnect()


def main():
    jid, password, host, port, mech, to, body = sys.argv[1:8]
    logging.basicConfig(level=logging.WARNING)
    x = Sender(jid, password, mech, to, body)
    # The test server has a self-signed certificate.
    x.ssl_context.check_hostname = False
    x.ssl_context.verify_mode = ssl.CERT_NONE
    x.connect((host, int(port)))
    loop = asyncio.get_event_loop()
    loop.run_until_complete(asyncio.wait_for(x.disconnected, 20))
    sys.exit(0 if x.ok else 1)


if __name__ == "__main__":
    main()
