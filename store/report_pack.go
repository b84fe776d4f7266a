package store

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The packed lists of reportChatsQuery: items separated by ",", fields
// by " ", times in milliseconds after the chat's start (created, Unix
// milliseconds). Usernames have neither separator (ValidateUsername).

// packedItems calls f with the fields of each item of a packed list.
func packedItems(list string, fields int, f func([]string) error) error {
	buf := make([]string, 0, fields)
	for list != "" {
		var item string
		item, list, _ = strings.Cut(list, ",")
		buf = buf[:0]
		for len(buf) < fields-1 {
			field, rest, ok := strings.Cut(item, " ")
			if !ok {
				break
			}
			buf, item = append(buf, field), rest
		}
		buf = append(buf, item)
		if err := f(buf); err != nil {
			return fmt.Errorf("packed item %q: %w", strings.Join(buf, " "), err)
		}
	}
	return nil
}

// packedTime reads a time after the chat's start.
func packedTime(field string, created int64) (time.Time, error) {
	d, err := strconv.ParseInt(field, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return fromMillis(created + d), nil
}

// unpackMessages reads messages: "AT AUTHOR", AUTHOR empty for the
// visitor's.
func unpackMessages(list string, created int64) ([]ReportMessage, error) {
	out := make([]ReportMessage, 0, strings.Count(list, ",")+1)
	err := packedItems(list, 2, func(f []string) error {
		if len(f) != 2 {
			return fmt.Errorf("%d fields", len(f))
		}
		at, err := packedTime(f[0], created)
		m := ReportMessage{At: at}
		if f[1] != "" {
			m.Agent, m.Author = true, UsernameKey(f[1])
		}
		out = append(out, m)
		return err
	})
	return out, err
}

// unpackAgents reads agents' stays: "AT ROLE USERNAME".
func unpackAgents(list string, created int64) ([]ReportChatAgent, error) {
	var out []ReportChatAgent
	err := packedItems(list, 3, func(f []string) error {
		if len(f) != 3 {
			return fmt.Errorf("%d fields", len(f))
		}
		at, err := packedTime(f[0], created)
		out = append(out, ReportChatAgent{JoinedAt: at, Role: f[1], Username: f[2]})
		return err
	})
	return out, err
}

// unpackOffers reads offers: "AT ANSWERED_AT|n KIND ANSWER|- USERNAME".
func unpackOffers(list string, created int64) ([]ReportOffer, error) {
	var out []ReportOffer
	err := packedItems(list, 5, func(f []string) error {
		if len(f) != 5 {
			return fmt.Errorf("%d fields", len(f))
		}
		o := ReportOffer{Kind: f[2], Answer: f[3], Username: UsernameKey(f[4])}
		if o.Answer == "-" {
			o.Answer = ""
		}
		var err error
		if o.OfferedAt, err = packedTime(f[0], created); err != nil {
			return err
		}
		if f[1] != "n" {
			if o.AnsweredAt, err = packedTime(f[1], created); err != nil {
				return err
			}
		}
		out = append(out, o)
		return nil
	})
	return out, err
}
