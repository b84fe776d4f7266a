package xmppd

import (
	"sort"
	"strings"

	"jabberdesk/store"
)

// Who is whose colleague (docs/AGENTS.md §3.1). In a portal-wide roster
// every agent of the portal is every other's colleague. In department
// rosters, two agents are colleagues when
//   - they share a department, or
//   - either is an admin, or
//   - both are supervisors, or
//   - one is a supervisor and the other has no department.
//
// The relation is symmetric by construction, so that presence, which
// goes both ways, stays consistent: whoever is in your roster has you in
// theirs. An agent's colleagues are found from the portal snapshot's
// per-department member lists, so that a sign-in costs the agent's
// roster, not the portal.

// Roster policies (Config.Roster.Colleagues).
const (
	RosterAuto        = "auto"        // portal-wide up to PortalWideUpTo agents, departments above
	RosterPortal      = "portal"      // every agent sees every other
	RosterDepartments = "departments" // agents see their departments' members
)

// DefaultPortalWideUpTo is the largest portal whose rosters are
// portal-wide under RosterAuto unless configured otherwise.
const DefaultPortalWideUpTo = 200

// RosterPolicy says whose colleagues are whom.
type RosterPolicy struct {
	Colleagues     string // RosterAuto ("" too), RosterPortal or RosterDepartments
	PortalWideUpTo int    // with RosterAuto: portal-wide rosters up to this many agents (0: DefaultPortalWideUpTo)
}

// portalWide reports whether a portal of n agents has portal-wide rosters.
func (p RosterPolicy) portalWide(n int) bool {
	switch p.Colleagues {
	case RosterPortal:
		return true
	case RosterDepartments:
		return false
	}
	limit := p.PortalWideUpTo
	if limit <= 0 {
		limit = DefaultPortalWideUpTo
	}
	return n <= limit
}

// colleagueIndex is the part of a portal snapshot that finds colleagues
// in department rosters: agents by index in portalDir.agents.
type colleagueIndex struct {
	byDept      map[string][]int // department key → its members
	depts       [][]string       // agent → its department keys
	admins      []int
	supervisors []int
	noDept      []int // agents (of any role) with no department
}

func deptKey(name string) string { return strings.ToLower(name) }

func newColleagueIndex(agents []store.Agent) *colleagueIndex {
	ci := &colleagueIndex{byDept: make(map[string][]int), depts: make([][]string, len(agents))}
	for i, a := range agents {
		seen := make(map[string]bool, len(a.Departments))
		for _, d := range a.Departments {
			k := deptKey(d)
			if !seen[k] {
				seen[k] = true
				ci.depts[i] = append(ci.depts[i], k)
				ci.byDept[k] = append(ci.byDept[k], i)
			}
		}
		switch a.Role {
		case store.RoleAdmin:
			ci.admins = append(ci.admins, i)
		case store.RoleSupervisor:
			ci.supervisors = append(ci.supervisors, i)
		}
		if len(ci.depts[i]) == 0 {
			ci.noDept = append(ci.noDept, i)
		}
	}
	return ci
}

// wide reports whether every agent of the portal is every other's
// colleague.
func (p *portalDir) wide() bool { return p.colleagues == nil }

// areColleagues reports whether the agents with keys a and b (not the
// same) are in each other's rosters.
func (p *portalDir) areColleagues(a, b string) bool {
	i, ok := p.byKey[a]
	if !ok {
		return false
	}
	j, ok := p.byKey[b]
	if !ok || i == j {
		return false
	}
	if p.wide() {
		return true
	}
	ci := p.colleagues
	ri, rj := p.agents[i].Role, p.agents[j].Role
	if ri == store.RoleAdmin || rj == store.RoleAdmin {
		return true
	}
	di, dj := ci.depts[i], ci.depts[j]
	switch {
	case ri == store.RoleSupervisor && (rj == store.RoleSupervisor || len(dj) == 0):
		return true
	case rj == store.RoleSupervisor && len(di) == 0:
		return true
	}
	for _, d := range di {
		for _, e := range dj {
			if d == e {
				return true
			}
		}
	}
	return false
}

// colleaguesOf returns the agents in the roster of the agent with the
// key, in the snapshot's order; none for an unknown agent. Its cost is
// the roster's size (the portal's only for admins, or in a portal-wide
// roster).
func (p *portalDir) colleaguesOf(key string) []store.Agent {
	self, ok := p.byKey[key]
	if !ok {
		return nil
	}
	if p.wide() {
		out := make([]store.Agent, 0, len(p.agents)-1)
		for i, a := range p.agents {
			if i != self {
				out = append(out, a)
			}
		}
		return out
	}
	ci := p.colleagues
	picked := make(map[int]bool)
	add := func(is []int) {
		for _, i := range is {
			if i != self {
				picked[i] = true
			}
		}
	}
	role := p.agents[self].Role
	switch {
	case role == store.RoleAdmin:
		add(ci.all(len(p.agents)))
	case role == store.RoleSupervisor:
		add(ci.supervisors)
		add(ci.noDept)
	case len(ci.depts[self]) == 0:
		add(ci.supervisors)
	}
	add(ci.admins)
	for _, d := range ci.depts[self] {
		add(ci.byDept[d])
	}
	idx := make([]int, 0, len(picked))
	for i := range picked {
		idx = append(idx, i)
	}
	sort.Ints(idx) // the snapshot's order, at the roster's cost
	out := make([]store.Agent, len(idx))
	for n, i := range idx {
		out[n] = p.agents[i]
	}
	return out
}

// all is every agent's index.
func (ci *colleagueIndex) all(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
