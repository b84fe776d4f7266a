// Package limit holds the pieces that bound what one client may cost the
// server (docs/OPERATING.md §9): the key that groups client addresses (an IPv6 client
// gets a /64, as one customer usually does), counters of concurrent use
// per key, token-bucket rate limits per key, and Guard, which slows down
// password guessing per address and per account.
//
// Invariants:
//   - Everything here is safe for concurrent use, does no I/O under its
//     own locks, and keeps bounded state: idle keys are forgotten.
//   - Time comes from a function the caller may replace (a fake clock in
//     tests); nothing sleeps: callers are told how long to wait, and only
//     Guard.Await, which callers may use, waits it out on a timer.
//   - The package imports nothing of jabberdesk's.
package limit
