// xmpp.js as an agent's client: signs in over STARTTLS with SCRAM, trusting
// the server's self-signed certificate given as a CA (NODE_EXTRA_CA_CERTS),
// sends presence, tells the test it is ready, answers "ping" with "pong",
// and leaves on "bye".
// Usage: node client.mjs SERVICE DOMAIN USERNAME PASSWORD PEER
import { client, xml } from "@xmpp/client";

const [service, domain, username, password, peer] = process.argv.slice(2);
const xmpp = client({ service, domain, username, password, resource: "xmppjs" });

xmpp.on("error", (err) => {
  console.log("ERROR " + err.message);
  process.exit(1);
});
xmpp.on("online", async (address) => {
  await xmpp.send(xml("presence"));
  console.log("READY " + address.toString());
});
xmpp.on("stanza", async (st) => {
  if (!st.is("message")) return;
  const body = st.getChildText("body");
  if (!body) return;
  console.log("GOT " + body);
  if (body === "ping") {
    await xmpp.send(xml("message", { to: peer, type: "chat" }, xml("body", {}, "pong")));
  } else if (body === "bye") {
    await xmpp.stop();
    process.exit(0);
  }
});
xmpp.start().catch((err) => {
  console.log("ERROR " + err.message);
  process.exit(1);
});
