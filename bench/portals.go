package bench

import (
	"fmt"
	"strconv"
	"strings"
)

// With PortalSize the accounts are spread over portals of that many
// agents: the portal part of the account format (before "|") gets the
// portal's number, so "acme|agent%d" with a portal size of 50 gives
// acme1|agent1 … acme1|agent50, acme2|agent51 and so on, by the
// account's number. With DepartmentSize the provisioned agents of each
// portal are put in departments of that many ("team 1", "team 2", …, by
// their place in the portal). Both shape what a sign-in costs a server
// whose rosters follow portals and departments.

// portalNumber is the portal of the account with number n (from 1).
func (c *Config) portalNumber(n int) int { return (n-1)/c.PortalSize + 1 }

// account is the i-th agent's account, formatted, with the portal's
// number in it when the accounts are spread over portals.
func (c *Config) account(i int) string {
	n := c.number(i)
	a := format(c.Account, n)
	if c.PortalSize > 0 {
		if p, rest, ok := strings.Cut(a, "|"); ok {
			a = p + strconv.Itoa(c.portalNumber(n)) + "|" + rest
		}
	}
	return a
}

// AccountPortalOf is the portal of the i-th agent (from 0), or "" when
// the format has none.
func (c *Config) AccountPortalOf(i int) string {
	p, _, ok := strings.Cut(c.account(i), "|")
	if !ok {
		return ""
	}
	return p
}

// AccountDepartment is the department the i-th agent is provisioned in
// with DepartmentSize ("" without it): the agents of a portal fill its
// departments in order.
func (c *Config) AccountDepartment(i int) string {
	if c.DepartmentSize <= 0 {
		return ""
	}
	n := c.number(i)
	place := n - 1 // in the portal, from 0
	if c.PortalSize > 0 {
		place = (n - 1) % c.PortalSize
	}
	return "team " + strconv.Itoa(place/c.DepartmentSize+1)
}

// checkPortals reports what is wrong with PortalSize and DepartmentSize.
func (c *Config) checkPortals(bad func(format string, args ...any)) {
	if c.PortalSize < 0 || c.DepartmentSize < 0 {
		bad("--portal-size and --department-size must be 0 (off) or more")
	}
	if c.PortalSize > 0 {
		portal, _, ok := strings.Cut(c.Account, "|")
		switch {
		case !ok:
			bad("--portal-size needs an --account like PORTAL|agent%%d")
		case strings.Contains(portal, "%d"):
			bad("--portal-size numbers the portals itself: leave %%d out of the portal part of --account %q", c.Account)
		}
		if c.First < 1 {
			bad("--portal-size needs --first 1 or more")
		}
	}
	if c.DepartmentSize > 0 && c.Department != "" {
		bad("--department-size and --department exclude each other: the provisioned agents are in their teams")
	}
	if c.DepartmentSize > 0 && c.First < 1 {
		bad("--department-size needs --first 1 or more")
	}
}

// PortalsText describes the spread, for the report ("" without one).
func (c *Config) PortalsText() string {
	if c.PortalSize == 0 && c.DepartmentSize == 0 {
		return ""
	}
	s := ""
	if c.PortalSize > 0 {
		s = fmt.Sprintf("portals of %d agents", c.PortalSize)
	}
	if c.DepartmentSize > 0 {
		if s != "" {
			s += ", "
		}
		s += fmt.Sprintf("departments of %d", c.DepartmentSize)
	}
	return s
}
