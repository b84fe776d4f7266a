package commands

import (
	"strconv"
	"strings"
)

// The digit codes of "#support conasreq [PSC]" (docs/COMMANDS.md, docs/HELPDESK.md §2.2). The package
// reads only its own copies, so the exported tables are for callers.
var (
	priorityNames       = [...]string{"none", "low", "medium", "high"}
	statusNames         = [...]string{"open", "on hold", "escalated", "closed"}
	classificationNames = [...]string{"none", "question", "problem", "feature", "others"}
)

// PriorityNames are the ticket priorities by code: 0 none, 1 low, 2 medium,
// 3 high.
var PriorityNames = priorityNames

// StatusNames are the ticket statuses by code: 0 open, 1 on hold,
// 2 escalated, 3 closed.
var StatusNames = statusNames

// ClassificationNames are the ticket classifications by code: 0 none,
// 1 question, 2 problem, 3 feature, 4 others.
var ClassificationNames = classificationNames

// FormatPSC describes a priority, status and classification in words, as
// in "low, on hold, problem" (for 1, 1, 2). A code out of range is shown as
// its number.
func FormatPSC(priority, status, classification int) string {
	return codeName(priorityNames[:], priority) + ", " +
		codeName(statusNames[:], status) + ", " +
		codeName(classificationNames[:], classification)
}

// PSC describes c's priority, status and classification in words (see
// FormatPSC).
func (c Command) PSC() string { return FormatPSC(c.Priority, c.Status, c.Classification) }

func codeName(names []string, n int) string {
	if n >= 0 && n < len(names) {
		return names[n]
	}
	return strconv.Itoa(n)
}

// pscCodes lists the codes: "priority 0 none, 1 low, 2 medium, 3 high;
// status 0 open, …; classification 0 none, …, 4 others".
func pscCodes() string {
	list := func(label string, names []string) string {
		parts := make([]string, len(names))
		for i, n := range names {
			parts[i] = strconv.Itoa(i) + " " + n
		}
		return label + " " + strings.Join(parts, ", ")
	}
	return list("priority", priorityNames[:]) + "; " +
		list("status", statusNames[:]) + "; " +
		list("classification", classificationNames[:])
}

// parsePSC reads the digits of conasreq: empty means 000; otherwise three
// ASCII digits in range, white space between them ignored.
// ParsePSC reads priority, status and classification digits as
// #support conasreq takes them ("112", "1 1 2", "" for 000); ok is false
// otherwise. PSCCodes says what the digits mean.
func ParsePSC(s string) (p, st, c int, ok bool) { return parsePSC(s) }

// PSCCodes describes the digits of a PSC.
func PSCCodes() string { return pscCodes() }

func parsePSC(s string) (p, st, c int, ok bool) {
	digits := strings.Join(strings.Fields(s), "")
	if digits == "" {
		return 0, 0, 0, true
	}
	if len(digits) != 3 {
		return 0, 0, 0, false
	}
	for i := 0; i < 3; i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, 0, 0, false
		}
	}
	p, st, c = int(digits[0]-'0'), int(digits[1]-'0'), int(digits[2]-'0')
	if p >= len(priorityNames) || st >= len(statusNames) || c >= len(classificationNames) {
		return 0, 0, 0, false
	}
	return p, st, c, true
}
