package store

import (
	"context"
	"strconv"
	"strings"
)

// SearchWordsMax is the most words a ticket or chat search takes.
const SearchWordsMax = 10

// Ticket search queries; ?1 is the portal's id. A contact's tickets are
// found through the contact's email (index (portal_id, email_key)) and
// then the index (contact_id, number), newest first.
const (
	contactTicketsQuery = ticketSelect + ` WHERE ct.portal_id = ?1 AND ct.email_key = ?2 ORDER BY t.number DESC LIMIT ?3`
	ticketCountsQuery   = `SELECT count(t.id), COALESCE(sum(CASE WHEN t.status <> 3 AND t.due_at < ?3 THEN 1 ELSE 0 END), 0)
	FROM contacts ct JOIN tickets t ON t.contact_id = ct.id WHERE ct.portal_id = ?1 AND ct.email_key = ?2`
)

// searchWordsQuery is the query for words: every word must be in the
// subject or the contact's name (both lowercased). It reads the portal's
// tickets newest first, until it has limit of them.
func searchWordsQuery(words int) string {
	var b strings.Builder
	b.WriteString(ticketSelect + ` WHERE t.portal_id = ?`)
	for range words {
		b.WriteString(` AND (instr(t.subject_key, ?) > 0 OR instr(ct.name_key, ?) > 0)`)
	}
	b.WriteString(` ORDER BY t.number DESC LIMIT ?`)
	return b.String()
}

// SearchTickets finds a portal's tickets, newest first: with an email
// (exactly, ignoring case) the contact's tickets; with a ticket number
// ("123" or "#123") that ticket; otherwise the term is words, each of
// which must appear (ignoring case) in the subject or in the contact's
// name. limit <= 0 means 100.
func (s *Store) SearchTickets(ctx context.Context, portal, term string, limit int) ([]Ticket, error) {
	term = strings.TrimSpace(term)
	if term == "" {
		return nil, invalid("a search term is required: an email, a ticket number (like 123 or #123) or words of the subject or of the contact's name")
	}
	if limit <= 0 {
		limit = 100
	}
	pid, err := portalID(ctx, s.r, portal)
	if err != nil {
		return nil, wrap("search tickets", err)
	}
	if strings.Contains(term, "@") && !strings.ContainsAny(term, " \t") {
		return s.queryTickets(ctx, "search tickets", contactTicketsQuery, pid, strings.ToLower(term), limit)
	}
	if digits := strings.TrimPrefix(term, "#"); digits != "" && strings.Trim(digits, "0123456789") == "" {
		n, err := strconv.ParseInt(digits, 10, 64)
		if err != nil { // too many digits to be a ticket number
			return []Ticket{}, nil
		}
		return s.queryTickets(ctx, "search tickets", ticketByNumberQuery, pid, n)
	}
	words, err := searchWords(term)
	if err != nil {
		return nil, err
	}
	args := []any{pid}
	for _, w := range words {
		args = append(args, w, w)
	}
	return s.queryTickets(ctx, "search tickets", searchWordsQuery(len(words)), append(args, limit)...)
}

// RecentTickets lists the tickets of the portal's contact with the email
// (ignoring case), newest first; none if there is no such contact. limit
// <= 0 means 100.
func (s *Store) RecentTickets(ctx context.Context, portal, email string, limit int) ([]Ticket, error) {
	if limit <= 0 {
		limit = 100
	}
	pid, err := portalID(ctx, s.r, portal)
	if err != nil {
		return nil, wrap("list recent tickets", err)
	}
	return s.queryTickets(ctx, "list recent tickets", contactTicketsQuery, pid, strings.ToLower(strings.TrimSpace(email)), limit)
}

// TicketCounts counts the tickets of the portal's contact with the email
// (ignoring case): all of them, and those overdue (past their due time
// and not closed). A contact that does not exist has none.
func (s *Store) TicketCounts(ctx context.Context, portal, email string) (total, overdue int, err error) {
	pid, err := portalID(ctx, s.r, portal)
	if err != nil {
		return 0, 0, wrap("count tickets", err)
	}
	err = s.r.QueryRowContext(ctx, ticketCountsQuery, pid, strings.ToLower(strings.TrimSpace(email)), millis(s.now())).
		Scan(&total, &overdue)
	return total, overdue, wrap("count tickets", err)
}
