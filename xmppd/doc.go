// Package xmppd is jabberdesk's XMPP client-to-server service. Agents of
// every portal sign in as PORTAL|USERNAME@DOMAIN from ordinary Jabber
// clients and find in a roster the server computes (roster.go): their
// colleagues (the whole portal, or in large portals their departments'
// agents, supervisors and admins: colleagues.go, RosterPolicy; presence
// follows the roster, audience.go), the portal's message board PORTAL|board (board.go), the desk
// PORTAL|desk, which takes the desk's hash commands and runs its ad-hoc
// commands (adhoc.go), and a contact PORTAL|v-NUMBER for each visitor chat
// they are in or are offered (visitors.go). The visitor chats are the chat
// engine's: the server asks for them through the small Desk interface it
// declares (desk.go; bridge.Engine implements it, noDesk stands in when
// there is none) and serves the engine as its bridge.Agents. Agents
// exchange messages with colleagues, send files (upload.DOMAIN), and keep
// their archive, vCard, bookmarks and block list on the server.
//
// Streams are negotiated with mellium.im/xmpp server-side sessions, with
// our own stream features; the stanzas that follow are read by our own
// decoder (reader.go). It implements:
//   - RFC 6120: stream headers checked before anything is offered, and
//     bad ones answered as §4.9.1.2 asks (header.go); TCP with STARTTLS
//     required before authentication (§5) and direct TLS (XEP-0368); SASL
//     (§6) with SCRAM-SHA-256, SCRAM-SHA-1 (RFC 5802, RFC 7677) and PLAIN,
//     verified against stored SCRAM keys (sasl.go, scram.go); resource
//     binding (§7), where a new session with the same resource replaces
//     the old one (§7.7.2.2); stream and stanza errors (§4.9, §8.3); no
//     DTDs or processing instructions (§11.1).
//   - RFC 6121: roster get, pushes and versioning (§2.1.6, §2.6) for a
//     roster the server manages; presence broadcast and probes (§4.2.2,
//     §4.4.2); message delivery to bare and full JIDs (§8.5).
//   - The empty result for the legacy session IQ (RFC 3921 §3).
//   - XEP-0030 service discovery, XEP-0092 software version, XEP-0199 ping
//     both ways (keepalive.go: idle sessions are pinged, silent ones
//     closed).
//   - XEP-0198 stream management: acknowledgements and resumption (sm.go);
//     XEP-0352 client state indication and XEP-0280 message carbons
//     (output.go, carbons.go).
//   - Offline messages with XEP-0203 delay stamps (offline.go), also for
//     board posts made while an agent was away.
//   - XEP-0313 message archive management with XEP-0059 paging and
//     XEP-0359 stanza ids (mam.go): colleague messages from the archive,
//     visitor chats from their transcripts.
//   - XEP-0085 chat states, and XEP-0184 receipts and XEP-0333 chat markers
//     between colleagues, which confirm a message only once it is archived.
//   - XEP-0363 HTTP file upload slots (upload.go; the files go to the
//     visitor API's listener).
//   - XEP-0054 vCards with XEP-0153 photos (vcard.go); XEP-0049 private XML
//     storage (private.go); XEP-0191 blocking (blocking.go); XEP-0163
//     personal eventing for avatars (XEP-0084), nicknames (XEP-0172) and
//     bookmarks (XEP-0402, XEP-0048) (pep.go).
//   - XEP-0050 ad-hoc commands with XEP-0004 data forms on the desk.
//
// No federation: stanzas to other domains get remote-server-not-found.
//
// Several servers may share one store behind a TCP balancer
// (docs/CLUSTER.md): given Config.Peers, the server keeps the cluster's
// session directory up to date (peerdir.go), delivers stanzas to sessions
// on other nodes and keeps what nobody took offline (peerdeliver.go), and
// shares presence, board posts, personal events and block list changes on
// each portal's topic, mirroring the presence of remote sessions
// (peertopic.go, peerpresence.go, peerblocks.go). Without it, a single
// node runs as if the others did not exist.
//
// Invariants:
//   - One goroutine reads each connection (after negotiation, a fresh one
//     per session). Everything sent to a session goes through its bounded
//     outbox, drained by a writer goroutine that runs only while there is
//     something to write. A full outbox disconnects that session; a sender
//     never waits for another session.
//   - Never write to a socket, call the database or wait on another session
//     while holding the router's lock. The router's lock may be taken while
//     holding a session's lock, never the other way round.
//   - The server stamps "from" on everything it routes; a stanza that claims
//     another sender ends the stream with <invalid-from/>.
//   - Nothing crosses portals: a stanza addressed to another portal's JID is
//     answered as if that JID did not exist.
//   - Acknowledged means on disk: the server's XEP-0198 <a/>, a routed
//     delivery receipt or chat marker and a resumption's h wait for the
//     archive batch holding what they confirm; what a session waiting to
//     be resumed takes is stored (held for it) before its sender is
//     answered; a session that ends rescues what its client did not
//     acknowledge to the agent's other resources or offline storage.
//   - A client that breaks a limit gets its stream error and loses its
//     session, resumable or not; password guessing is slowed per address
//     and per account (internal/limit's Guard).
//   - The server always has a Desk (noDesk without one) and calls the chat
//     engine only through it; the engine calls the server only through
//     bridge.Agents (visitors.go), whose methods never wait on a session:
//     they queue what they send.
//   - With several nodes, a session never waits for the session directory:
//     binding and ending only mark the full JID, one goroutine per server
//     updates the directory, and marks coalesce by JID so that a removal
//     is never lost. A request to another node is bounded (peerTimeout);
//     its handler only queues into outboxes. A message for a node that
//     does not answer is kept offline: a rare duplicate, never a loss.
//   - Nodes tell each other only what their own sessions did; what a node
//     knows of the others' sessions (presenceMirror) is replaced by each
//     change, forgotten at a new incarnation of the node and when the node
//     is declared dead (PeerLost). Messages held for a session waiting to
//     be resumed carry the node's name, so each node releases only its own.
package xmppd
