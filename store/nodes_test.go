package store

import (
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"
)

// Several nodes write to one database at once: every ticket and chat
// number is given once, none is skipped, and the offline limit holds.
func TestConcurrentNodesNumberOnce(t *testing.T) {
	s1, ctx := chatFixture(t)
	// The test server has no password: Path is the whole address.
	s2, err := Open(s1.Path(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	const workers, each = 6, 8
	var mu sync.Mutex
	var tickets, chats []int64
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*2)
	for w := range workers {
		s := []*Store{s1, s2}[w%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				tk, err := s.CreateTicket(ctx, NewTicket{Portal: "acme", Subject: fmt.Sprint("w", w, " ", i),
					Email: fmt.Sprintf("c%d-%d@example.com", w, i), Channel: TicketChannelCLI})
				if err != nil {
					errs <- err
					return
				}
				c, err := s.CreateChat(ctx, newChat("acme", "Ann", fmt.Sprintf("v%d-%d@example.com", w, i)))
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				tickets, chats = append(tickets, tk.Number), append(chats, c.Number)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for name, ns := range map[string][]int64{"ticket": tickets, "chat": chats} {
		sort.Slice(ns, func(i, j int) bool { return ns[i] < ns[j] })
		for i := 1; i < len(ns); i++ {
			if ns[i] != ns[i-1]+1 {
				t.Fatalf("%s numbers %v: not each once in a row", name, ns)
			}
		}
		if len(ns) != workers*each {
			t.Fatalf("%d %s numbers", len(ns), name)
		}
	}
}

// A node that takes a portal over reads that portal's live chats only.
func TestPortalLiveChats(t *testing.T) {
	s, ctx := chatFixture(t)
	a1 := mustChat(t, s, newChat("acme", "Ann", ""))
	a2 := mustChat(t, s, newChat("acme", "Bob", ""))
	mustChat(t, s, newChat("globex", "Cid", ""))
	if err := s.SetChatStatus(ctx, a1.ID, ChatEnded, time.Now(), EndAgent); err != nil {
		t.Fatal(err)
	}
	p, err := s.Portal(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	live, err := s.PortalLiveChats(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 1 || live[0].ID != a2.ID || live[0].Portal != "acme" {
		t.Fatalf("live chats of acme: %+v, want only chat %d", live, a2.ID)
	}
}
