package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Several engines may share one PostgreSQL. Admin changes made on one node
// are recorded in vbwd.admin_changes and announced with NOTIFY; every other
// node applies them from its own disk. Each node reports what it runs in
// vbwd.nodes, so the admin API can show a content hash mismatch.

const (
	notifyChannel  = "vbwd_admin"
	heartbeatEvery = 10 * time.Second
)

const clusterSchema = `
create schema if not exists vbwd;
create table if not exists vbwd.admin_changes (
  id         bigserial primary key,
  node       text not null,
  action     text not null,
  plugin     text not null default '',
  payload    jsonb,
  created_at timestamptz not null default now()
);
create table if not exists vbwd.nodes (
  node       text not null,
  plugin     text not null,
  state      text not null,
  generation bigint not null,
  hash       text not null,
  updated_at timestamptz not null default now(),
  primary key (node, plugin)
);`

// NodeStatus is what one node reports running for a plugin.
type NodeStatus struct {
	Node       string    `json:"node"`
	State      string    `json:"state"`
	Generation int64     `json:"generation"`
	Hash       string    `json:"hash"`
	UpdatedAt  time.Time `json:"updated_at"`
}

func defaultNodeID() string {
	host, _ := os.Hostname()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return host + "-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b)
}

// NodeID names this engine among the nodes sharing its database.
func (e *Engine) NodeID() string { return e.opts.NodeID }

// startCluster creates the coordination tables and starts listening for
// other nodes' admin changes. Without a database it does nothing.
func (e *Engine) startCluster(ctx context.Context) error {
	if e.opts.DB == nil {
		return nil
	}
	err := e.migr.locked(ctx, func() error {
		_, err := e.opts.DB.Exec(ctx, clusterSchema)
		return err
	})
	if err != nil {
		return fmt.Errorf("cluster tables: %w", err)
	}
	var last int64
	if err := e.opts.DB.QueryRow(ctx, "select coalesce(max(id), 0) from vbwd.admin_changes").Scan(&last); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	e.clusterWG.Add(1)
	go func() {
		defer e.clusterWG.Done()
		e.listen(last)
	}()
	return nil
}

// broadcast records an admin change made on this node and wakes the others.
func (e *Engine) broadcast(ctx context.Context, action, plugin string, payload any) {
	if e.opts.DB == nil {
		return
	}
	var raw []byte
	if payload != nil {
		raw, _ = json.Marshal(payload)
	}
	_, err := e.opts.DB.Exec(ctx, `with c as (insert into vbwd.admin_changes (node, action, plugin, payload)
		values ($1, $2, $3, $4) returning id) select pg_notify($5, id::text) from c`,
		e.opts.NodeID, action, plugin, raw, notifyChannel)
	if err != nil {
		e.log.Error("cluster: recording an admin change failed; other nodes will not apply it", "action", action, "plugin", plugin, "err", err)
	}
	e.reportNodes(ctx)
}

// listen applies other nodes' changes as they are announced (catching up
// after every reconnect) and refreshes this node's report when idle.
func (e *Engine) listen(last int64) {
	e.runListener(listener{
		what:    "admin changes",
		channel: notifyChannel,
		idle:    heartbeatEvery,
		onConnect: func(ctx context.Context) (err error) {
			e.reportNodes(ctx)
			last, err = e.applyChanges(ctx, last)
			return err
		},
		onNotify: func(ctx context.Context, n *pgconn.Notification) (err error) {
			if n == nil {
				e.reportNodes(ctx)
				return nil
			}
			last, err = e.applyChanges(ctx, last)
			return err
		},
	})
}

// applyChanges applies the changes after id last made by other nodes.
func (e *Engine) applyChanges(ctx context.Context, last int64) (int64, error) {
	rows, err := e.opts.DB.Query(ctx, `select id, node, action, plugin, payload from vbwd.admin_changes
		where id > $1 order by id`, last)
	if err != nil {
		return last, err
	}
	type change struct {
		id                   int64
		node, action, plugin string
		payload              []byte
	}
	var todo []change
	for rows.Next() {
		var c change
		if err := rows.Scan(&c.id, &c.node, &c.action, &c.plugin, &c.payload); err != nil {
			rows.Close()
			return last, err
		}
		todo = append(todo, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return last, err
	}
	for _, c := range todo {
		last = c.id
		if c.node == e.opts.NodeID {
			continue
		}
		err := e.applyChange(ctx, c.action, c.plugin, c.payload)
		attrs := []any{"from", c.node, "action", c.action, "plugin", c.plugin}
		if err != nil {
			e.log.Error("cluster: applying another node's change failed", append(attrs, "err", err)...)
		} else {
			e.log.Info("cluster: applied another node's change", attrs...)
		}
	}
	if len(todo) > 0 {
		e.reportNodes(ctx)
	}
	return last, nil
}

func (e *Engine) applyChange(ctx context.Context, action, plugin string, payload []byte) error {
	switch action {
	case "reload":
		_, err := e.Reload(ctx, plugin)
		return err
	case "rescan":
		_, err := e.Rescan(ctx)
		return err
	case "enable", "disable":
		return e.SetEnabled(ctx, plugin, action == "enable", true)
	case "config":
		var cfg map[string]any
		if err := json.Unmarshal(payload, &cfg); err != nil {
			return err
		}
		_, err := e.SetConfig(ctx, plugin, cfg)
		return err
	}
	return fmt.Errorf("unknown admin action %q", action)
}

// reportNodes records what this node runs, one row per plugin.
func (e *Engine) reportNodes(ctx context.Context) {
	if e.opts.DB == nil {
		return
	}
	batch := &pgx.Batch{}
	for _, st := range e.Plugins() {
		batch.Queue(`insert into vbwd.nodes (node, plugin, state, generation, hash, updated_at)
			values ($1, $2, $3, $4, $5, now()) on conflict (node, plugin) do update
			set state = excluded.state, generation = excluded.generation, hash = excluded.hash, updated_at = now()`,
			e.opts.NodeID, st.Name, string(st.State), st.Generation, st.Hash)
	}
	if err := e.opts.DB.SendBatch(ctx, batch).Close(); err != nil && ctx.Err() == nil {
		e.log.Warn("cluster: reporting this node failed", "err", err)
	}
}

// nodes returns what every node that reported in the last minute runs for
// a plugin.
func (e *Engine) nodes(ctx context.Context, plugin string) ([]NodeStatus, error) {
	if e.opts.DB == nil {
		return nil, nil
	}
	rows, err := e.opts.DB.Query(ctx, `select node, state, generation, hash, updated_at from vbwd.nodes
		where plugin = $1 and updated_at > now() - interval '1 minute' order by node`, plugin)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (NodeStatus, error) {
		var n NodeStatus
		err := r.Scan(&n.Node, &n.State, &n.Generation, &n.Hash, &n.UpdatedAt)
		return n, err
	})
}
