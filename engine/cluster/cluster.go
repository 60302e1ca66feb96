package cluster

import (
	"context"
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
	"github.com/vbwd-platform/vbwd-engine/engine/admin"
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

// Start starts listening for admin changes (the tables exist). A node resumes the change log after the last change it
// applied (recorded under its root), so changes made while it was down are
// applied on start; a node that never applied one starts at the log's end
// (its disk is its baseline). Without a database it does nothing.
func (e *Cluster) Start(ctx context.Context) error {
	if e.opts.DB == nil {
		return nil
	}
	last, ok := ReadAppliedChange(e.opts.Root)
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
func (e *Cluster) ApplyAdmin(ctx context.Context, action, plugin string, payload any) (any, error) {
	var raw []byte
	if payload != nil {
		raw, _ = json.Marshal(payload)
	}
	c := adminChange{node: e.opts.NodeID, action: action, plugin: plugin, payload: raw}
	ctx = context.WithoutCancel(ctx) // a change, once recorded, is applied whatever the client does
	if !e.clusterOn.Load() {
		return e.ApplyChange(ctx, c.action, c.plugin, c.payload)
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
func (e *Cluster) recordChange(ctx context.Context, c adminChange) (int64, error) {
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
func (e *Cluster) listen() {
	e.RunListener(pgcoord.Listener{
		What:    "admin changes",
		Channel: notifyChannel,
		Idle:    heartbeatEvery,
		OnConnect: func(ctx context.Context) error {
			e.reportNodes(ctx)
			err := e.applyLog(ctx)
			e.HealPackages(ctx)
			return err
		},
		OnNotify: func(ctx context.Context, n *pgconn.Notification) error {
			if n == nil {
				e.HealPackages(ctx)
				e.reportNodes(ctx)
				return nil
			}
			return e.applyLog(ctx)
		},
	})
}

// applyLog applies every change of the log this node has not applied yet.
func (e *Cluster) applyLog(ctx context.Context) error {
	e.applyMu.Lock()
	defer e.applyMu.Unlock()
	return e.applyLogLocked(ctx, math.MaxInt64, nil)
}

// applyLogLocked applies the changes after e.applied up to id, in order,
// under e.applyMu; seen, when set, gets each change's result.
func (e *Cluster) applyLogLocked(ctx context.Context, upTo int64, seen func(int64, any, error)) error {
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
		res, err := e.ApplyChange(ctx, c.action, c.plugin, c.payload)
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

// appliedFile records, under the root, the id of the last change of the
// cluster log this node's disk reflects.
const appliedFile = ".data/cluster-applied-change"

// ReadAppliedChange reads the id of the last change applied under root.
func ReadAppliedChange(root string) (int64, bool) {
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
func (e *Cluster) reportNodes(ctx context.Context) {
	if e.opts.DB == nil || e.Closing() {
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
func (e *Cluster) nodes(ctx context.Context, plugin string) ([]admin.NodeStatus, error) {
	if e.opts.DB == nil {
		return nil, nil
	}
	rows, err := e.opts.DB.Query(ctx, `select node, state, generation, hash, updated_at from vbwd.nodes
		where plugin = $1 and updated_at > now() - interval '1 minute' order by node`, plugin)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (admin.NodeStatus, error) {
		var n admin.NodeStatus
		err := r.Scan(&n.Node, &n.State, &n.Generation, &n.Hash, &n.UpdatedAt)
		return n, err
	})
}
