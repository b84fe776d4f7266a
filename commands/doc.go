// Package commands turns what an agent types into a chat window into typed
// hash commands (docs/COMMANDS.md), and writes the #help text for them.
//
// A message body is a command when it starts with "#" followed by a
// letter: "#t fiona.b", "#e 30", "#support conasreq 112". "##text" is the
// escape that sends the literal "#text"; "#1" or "# hi" are ordinary text.
// Classify tells the three apart; Parse turns a command into a Command with
// typed fields (Target, Department, Seconds, URL, Number, Priority, …) or
// into an *Error that says what was wrong and shows the usage line.
//
// Every command is one row of a single table (table.go): its canonical
// name, aliases, group (chat, misc, support, crm, desk), usage line,
// summary, description, examples, where it is valid (a visitor chat, the
// Desk contact, or both), which agents of a chat may run it (its staff,
// monitors too, or anyone), whether it needs the supervisor role, whether
// it changes something (and so is audited), whether the desk mode of the
// chat's department rules it, and the function that parses its
// arguments. Lookup and Specs expose the rows.
//
// Invariants:
//   - Pure: no I/O, no clock, no package-level mutable state; the table is
//     built once and never changed, and Spec hands out copies.
//   - Help is generated from the same table the parser uses, and the tests
//     parse every usage line and example shown by help, so help cannot
//     drift from what is accepted.
//   - Parse never panics (it is fuzzed), and every error it returns is an
//     *Error whose text carries either a usage line or "try #help".
//   - Parse only checks syntax. It knows nothing of roles, chats or which
//     groups the server runs: the caller checks Spec.Access,
//     Spec.Supervisor and Spec.Helpdesk, whether the chat exists, and
//     refuses the commands of groups it hides from Help (see the include
//     argument of Help).
package commands
