// Package bench is the load generator behind `jabberdesk bench`: it drives
// a running XMPP server over real TLS with synthetic agents (and, for
// jabberdesk, visitors through the visitor API) and measures what the
// server does with them.
//
// The agent workloads speak plain RFC 6120/6121 only (STARTTLS or direct
// TLS, SASL PLAIN or SCRAM-SHA-256 through mellium.im/sasl, resource
// binding, presence, type=chat messages), so the same run can be pointed
// at jabberdesk, Prosody or ejabberd. The visitor and command workloads
// use jabberdesk's visitor API and hash commands.
//
// The client is purpose-built and lean, because the load generator usually
// shares the machine's cores with the server it measures: one goroutine
// per session reads the stream with a byte scanner that cuts it into
// top-level elements (scanner.go) without building trees, and writes go
// through a bufio.Writer under a mutex. Deadlines are only set on a
// connection while it negotiates, and cleared afterwards.
//
// Phases, in order (Run):
//
//  1. login: Agents sessions with Concurrency logins in flight; logins/s,
//     latency from connect to bound resource, failures;
//  2. messages: agent i sends to agent i+1 (the last to the first), either
//     with a window of messages in flight per sender (a slot is freed when
//     the receiver reads the message) or at a fixed total rate; each body
//     carries the run's id, the sender, a sequence number and the send
//     time, so the receiver measures latency and the run counts what was
//     lost (and ignores what a server kept offline from an earlier run);
//  3. idle: the sessions are held, and the server's RSS per session is
//     read from /proc (with PID);
//  4. visitors: chats started through POST /api/v1/chats, followed over
//     their WebSocket, accepted by whichever agent answers the offer with
//     y first, then messages both ways;
//  5. commands: agents in active chats send #info and wait for the reply.
//
// With PID, the server's CPU time (utime+stime from /proc/PID/stat) is
// read around the login and message phases, and its RSS
// (/proc/PID/status) before the login phase and after the idle phase.
package bench
