package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"jabberdesk/store"
)

// The demo portal that serve --demo seeds.
const demoPortal = "demo"

// demoAccount is a demo agent and its password.
type demoAccount struct {
	Username string
	Name     string
	Role     store.Role
	Depts    []string
	Password string
}

func demoDepartments() []string { return []string{"Sales", "Support"} }

func demoAgents() []demoAccount {
	return []demoAccount{
		{Username: "fiona.demo", Name: "Fiona", Role: store.RoleSupervisor, Depts: []string{"Sales", "Support"}},
		{Username: "george.demo", Name: "George", Role: store.RoleAgent, Depts: []string{"Support"}},
	}
}

// demoPasswordsFile keeps the demo agents' passwords, one "username
// password" a line, so that they stay the same from run to run.
func demoPasswordsFile(dataDir string) string {
	return filepath.Join(dataDir, "demo-passwords.txt")
}

// seedDemo creates what is missing of the demo portal, its departments and
// agents, and returns the agents with their passwords. Passwords come from
// the passwords file; agents not in it get a new random password, and the
// file is rewritten. Running it again changes nothing.
func seedDemo(ctx context.Context, st *store.Store, dataDir string) ([]demoAccount, error) {
	if _, err := st.AddPortal(ctx, demoPortal, "demo"); err != nil && !errors.Is(err, store.ErrExists) {
		return nil, err
	}
	for _, d := range demoDepartments() {
		if _, err := st.AddDepartment(ctx, demoPortal, d, "", "", "demo"); err != nil && !errors.Is(err, store.ErrExists) {
			return nil, err
		}
	}
	file := demoPasswordsFile(dataDir)
	saved, err := readDemoPasswords(file)
	if err != nil {
		return nil, err
	}
	accounts := demoAgents()
	changed := false
	for i := range accounts {
		a := &accounts[i]
		pw, known := saved[a.Username]
		if !known {
			if pw, err = generatePassword(); err != nil {
				return nil, err
			}
			changed = true
		}
		if err := ensureDemoAgent(ctx, st, *a, pw, known); err != nil {
			return nil, fmt.Errorf("agent %s: %w", a.Username, err)
		}
		a.Password = pw
	}
	if changed {
		if err := writeDemoPasswords(file, accounts); err != nil {
			return nil, err
		}
	}
	return accounts, nil
}

// ensureDemoAgent creates the agent with password pw, or gives an existing
// one that password unless it already has it (checked when known, i.e.
// when pw came from the passwords file).
func ensureDemoAgent(ctx context.Context, st *store.Store, a demoAccount, pw string, known bool) error {
	_, err := st.Agent(ctx, demoPortal, a.Username)
	if errors.Is(err, store.ErrNotFound) {
		_, err = st.AddAgent(ctx, store.NewAgent{
			Portal:      demoPortal,
			Username:    a.Username,
			DisplayName: a.Name,
			Email:       a.Username + "@example.com",
			Role:        a.Role,
			Departments: a.Depts,
			Password:    pw,
		}, "demo")
		return err
	}
	if err != nil {
		return err
	}
	if known {
		_, creds, err := st.Login(ctx, demoPortal, a.Username)
		if err != nil {
			return err
		}
		for _, c := range creds {
			if c.Mechanism == store.ScramSHA256 && c.VerifyPassword(pw) {
				return nil
			}
		}
	}
	return st.SetPassword(ctx, demoPortal, a.Username, pw, "demo")
}

// readDemoPasswords reads the passwords file; a missing file is empty.
func readDemoPasswords(file string) (map[string]string, error) {
	saved := map[string]string{}
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return saved, nil
	}
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		user, pw, ok := strings.Cut(line, " ")
		if !ok || strings.TrimSpace(pw) == "" {
			return nil, fmt.Errorf("%s:%d: want \"username password\" (delete the file to get new demo passwords)", file, n)
		}
		saved[user] = strings.TrimSpace(pw)
	}
	return saved, sc.Err()
}

// writeDemoPasswords replaces the passwords file (mode 0600) atomically.
func writeDemoPasswords(file string, accounts []demoAccount) error {
	var b strings.Builder
	for _, a := range accounts {
		fmt.Fprintf(&b, "%s %s\n", a.Username, a.Password)
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".demo-passwords-*")
	if err != nil {
		return err
	}
	_, err = tmp.WriteString(b.String())
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o600)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), file)
	}
	if err != nil {
		_ = os.Remove(tmp.Name()) // the write's error is the one to report
		return fmt.Errorf("write %s: %w", file, err)
	}
	return nil
}
