package main

import (
	"context"
	"errors"
	"time"

	"github.com/spf13/cobra"

	"jabberdesk/cluster"
	"jabberdesk/internal/textout"
)

func newClusterCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "See the servers of a cluster",
		Long: `Cluster commands look at the servers that share this configuration's
PostgreSQL database and NATS server (docs/CLUSTER.md). They read NATS
directly and work whether a server runs on this machine or not.`,
		Example: `  jabberdesk cluster status
  jabberdesk cluster status --json`,
		Args: exactArgs,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "status",
		Short: "List the servers of the cluster: alive or lost, sessions, chats, lag",
		Long: `Status lists every server that has joined the cluster, from the
heartbeats each writes to NATS every cluster.takeover/5: when it started,
how old its last heartbeat is (LAG, on the NATS server's clock, against
the newest heartbeat), whether it is alive or lost (silent for longer
than cluster.takeover: the others took over its chats), and the XMPP
sessions and live chats it had at its last heartbeat. The first line is
the NATS server and the round trip to it from here.

It exits 1 when NATS cannot be reached or a server is lost.`,
		Example: `  jabberdesk cluster status
  jabberdesk cluster status --json | jq '.nodes[] | select(.alive == false)'`,
		Args: exactArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return e.runClusterStatus(cmd) },
	})
	return cmd
}

// clusterNode is one server in `cluster status`.
type clusterNode struct {
	Node       string    `json:"node"`
	Alive      bool      `json:"alive"`
	Started    time.Time `json:"started"`
	LastSeen   time.Time `json:"last_seen"`
	LagSeconds float64   `json:"lag_seconds"`
	Sessions   int64     `json:"sessions"`
	Chats      int64     `json:"chats"`
}

// clusterReport is what `cluster status` prints.
type clusterReport struct {
	NATS       string        `json:"nats"`
	RTTSeconds float64       `json:"rtt_seconds"`
	Nodes      []clusterNode `json:"nodes"`
}

// errNodeLost makes `cluster status` exit 1 after printing.
var errNodeLost = errors.New("a server of the cluster is lost")

func (e *env) runClusterStatus(cmd *cobra.Command) error {
	cfg, err := e.config()
	if err != nil {
		return err
	}
	if cfg.Cluster.NATS == "" {
		return errors.New("cluster.nats is not set in " + cfg.Path + ": this server runs alone")
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), 15*time.Second)
	defer cancel()
	st, err := cluster.Inspect(ctx, cfg.Cluster.NATS, cfg.Cluster.Takeover)
	if err != nil {
		return err
	}
	rep := clusterReport{NATS: st.Server, RTTSeconds: st.RTT.Seconds(), Nodes: []clusterNode{}}
	lost := false
	for _, n := range st.Nodes {
		lost = lost || !n.Alive
		rep.Nodes = append(rep.Nodes, clusterNode{Node: n.Node, Alive: n.Alive, Started: n.Started.UTC(), LastSeen: n.LastSeen.UTC(),
			LagSeconds: n.Age.Seconds(), Sessions: int64(n.Sessions), Chats: n.Stats["chats"]})
	}
	if err := e.emit(cmd, rep, func(w *textout.Writer) error { return printCluster(w, rep) }); err != nil {
		return err
	}
	if lost {
		return errNodeLost
	}
	return nil
}

func printCluster(w *textout.Writer, rep clusterReport) error {
	w.Printf("NATS %s, round trip %s\n", rep.NATS, time.Duration(rep.RTTSeconds*float64(time.Second)).Round(time.Microsecond))
	if len(rep.Nodes) == 0 {
		w.Println("No server has joined the cluster.")
		return w.Err()
	}
	tw := newTable(w)
	tw.Println("NODE\tSTATE\tSTARTED\tLAG\tSESSIONS\tCHATS")
	for _, n := range rep.Nodes {
		state := "alive"
		if !n.Alive {
			state = "LOST"
		}
		tw.Printf("%s\t%s\t%s\t%.1fs\t%d\t%d\n", n.Node, state, n.Started.Format(time.RFC3339), n.LagSeconds, n.Sessions, n.Chats)
	}
	return tw.Flush()
}
