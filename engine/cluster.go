package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/vbwd-platform/vbwd-engine/engine/pgcoord"
	"github.com/vbwd-platform/vbwd-engine/engine/spec"
)

// Several engines may share one PostgreSQL. Admin changes are recorded in
// vbwd.admin_changes (the change log) and announced with NOTIFY; every node
// — the one where the change was made included — applies them from its own
// disk in the log's order, so nodes given conflicting changes at the same
// moment end the same. Each node reports what it runs in vbwd.nodes, so the
// admin API can show a content hash mismatch.

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

func defaultNodeID() string {
	host, _ := os.Hostname()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return host + "-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b)
}

// NodeID names this engine among the nodes sharing its database.
func (e *Engine) NodeID() string { return e.opts.NodeID }

// startCluster creates the coordination tables and starts listening for
// admin changes. A node resumes the change log after the last change it
// applied (recorded under its root), so changes made while it was down are
// applied on start; a node that never applied one starts at the log's end
// (its disk is its baseline). Without a database it does nothing.
func (e *Engine) startCluster(ctx context.Context) error {
	if e.opts.DB == nil {
		return nil
	}
	err := e.migr.Locked(ctx, func() error {
		_, err := e.opts.DB.Exec(ctx, clusterSchema)
		return err
	})
	if err != nil {
		return fmt.Errorf("cluster tables: %w", err)
	}
	last, ok := readAppliedChange(e.opts.Root)
	if !ok {
		if err := e.opts.DB.QueryRow(ctx, "select coalesce(max(id), 0) from vbwd.admin_changes").Scan(&last); err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
	}
	e.applyMu.Lock()
	e.applied = last
	e.applyMu.Unlock()
	e.clusterOn.Store(true)
	e.clusterWG.Add(1)
	go func() {
		defer e.clusterWG.Done()
		e.listen()
	}()
	return nil
}

// adminChange is one admin action: recorded in the change log, and applied
// by every node — the originating one included — in the log's order.
type adminChange struct {
	id             int64
	node           string
	action, plugin string
	payload        []byte
}

// applyAdmin applies an admin action made on this node. With a database it
// is first recorded in vbwd.admin_changes; this node then applies every
// change up to and including it in the log's order, exactly as the other
// nodes will, so concurrent conflicting changes end the same everywhere.
// It returns the action's own result.
func (e *Engine) applyAdmin(ctx context.Context, action, plugin string, payload any) (any, error) {
	var raw []byte
	if payload != nil {
		raw, _ = json.Marshal(payload)
	}
	c := adminChange{node: e.opts.NodeID, action: action, plugin: plugin, payload: raw}
	ctx = context.WithoutCancel(ctx) // a change, once recorded, is applied whatever the client does
	if !e.clusterOn.Load() {
		return e.applyChange(ctx, c)
	}
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	id, err := e.recordChange(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("recording the admin change in the cluster log: %w", err)
	}
	var res any
	var resErr error
	err = e.applyLogLocked(ctx, id, func(cid int64, r any, err error) {
		if cid == id {
			res, resErr = r, err
		}
	})
	if err != nil {
		return nil, err
	}
	return res, resErr
}

// recordChange appends a change to the log. The inserts are serialised by a
// transaction-scoped advisory lock, so ids are handed out in commit order and
// a node reading the log never skips a change committed late.
func (e *Engine) recordChange(ctx context.Context, c adminChange) (int64, error) {
	tx, err := e.opts.DB.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit: a no-op
	if _, err := tx.Exec(ctx, "select pg_advisory_xact_lock($1)", adminLogLock); err != nil {
		return 0, err
	}
	var id int64
	err = tx.QueryRow(ctx, `insert into vbwd.admin_changes (node, action, plugin, payload)
		values ($1, $2, $3, $4) returning id`, c.node, c.action, c.plugin, c.payload).Scan(&id)
	if err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, "select pg_notify($1, $2)", notifyChannel, strconv.FormatInt(id, 10)); err != nil {
		return 0, err
	}
	return id, tx.Commit(ctx)
}

// adminLogLock is the advisory lock key serialising change log inserts.
const adminLogLock = 0x76627764_61646d6e // "vbwdadmn"

// listen applies the changes in the log as they are announced (catching up
// after every reconnect) and refreshes this node's report when idle.
func (e *Engine) listen() {
	e.runListener(pgcoord.Listener{
		What:    "admin changes",
		Channel: notifyChannel,
		Idle:    heartbeatEvery,
		OnConnect: func(ctx context.Context) error {
			e.reportNodes(ctx)
			return e.applyLog(ctx)
		},
		OnNotify: func(ctx context.Context, n *pgconn.Notification) error {
			if n == nil {
				e.reportNodes(ctx)
				return nil
			}
			return e.applyLog(ctx)
		},
	})
}

// applyLog applies every change of the log this node has not applied yet.
func (e *Engine) applyLog(ctx context.Context) error {
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	return e.applyLogLocked(ctx, math.MaxInt64, nil)
}

// applyLogLocked applies the changes after e.applied up to id, in order,
// under e.applyMu; seen, when set, gets each change's result.
func (e *Engine) applyLogLocked(ctx context.Context, upTo int64, seen func(int64, any, error)) error {
	rows, err := e.opts.DB.Query(ctx, `select id, node, action, plugin, payload from vbwd.admin_changes
		where id > $1 and id <= $2 order by id`, e.applied, upTo)
	if err != nil {
		return err
	}
	todo, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (adminChange, error) {
		var c adminChange
		err := r.Scan(&c.id, &c.node, &c.action, &c.plugin, &c.payload)
		return c, err
	})
	if err != nil {
		return err
	}
	for _, c := range todo {
		res, err := e.applyChange(ctx, c)
		e.applied = c.id
		if werr := writeAppliedChange(e.opts.Root, c.id); werr != nil {
			e.log.Warn("cluster: recording the last applied change failed", "err", werr)
		}
		if seen != nil {
			seen(c.id, res, err)
		}
		attrs := []any{"id", c.id, "from", c.node, "action", c.action, "plugin", c.plugin}
		switch {
		case err != nil && c.node != e.opts.NodeID:
			e.log.Error("cluster: applying a change failed", append(attrs, "err", err)...)
		case c.node != e.opts.NodeID:
			e.log.Info("cluster: applied a change", attrs...)
		}
	}
	if len(todo) > 0 {
		e.reportNodes(ctx)
	}
	return nil
}

// applyChange applies one admin change on this node and returns its result
// (a ReloadResult, a RescanResult, or nil).
func (e *Engine) applyChange(ctx context.Context, c adminChange) (any, error) {
	switch c.action {
	case "reload":
		return e.Reload(ctx, c.plugin)
	case "rescan":
		return e.Rescan(ctx)
	case "enable", "disable":
		opts := struct {
			Cascade *bool `json:"cascade"`
		}{}
		_ = json.Unmarshal(c.payload, &opts)
		cascade := opts.Cascade == nil || *opts.Cascade // rows of older engines: cascade
		return nil, e.SetEnabled(ctx, c.plugin, c.action == "enable", cascade)
	case "config":
		var cfg map[string]any
		if err := json.Unmarshal(c.payload, &cfg); err != nil {
			return nil, err
		}
		return e.SetConfig(ctx, c.plugin, cfg)
	}
	return nil, fmt.Errorf("unknown admin action %q", c.action)
}

// appliedFile records, under the root, the id of the last change of the
// cluster log this node's disk reflects.
const appliedFile = ".data/cluster-applied-change"

func readAppliedChange(root string) (int64, bool) {
	b, err := os.ReadFile(filepath.Join(root, appliedFile))
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n, err == nil
}

func writeAppliedChange(root string, id int64) error {
	file := filepath.Join(root, appliedFile)
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	return spec.WriteFileAtomic(file, []byte(strconv.FormatInt(id, 10)+"\n"), 0o644)
}

// reportNodes records what this node runs, one row per plugin.
func (e *Engine) reportNodes(ctx context.Context) {
	if e.opts.DB == nil || e.closing.Load() {
		return // shutting down: the node's rows are deleted, not refreshed
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
