package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	"github.com/vbwd-platform/vbwd-engine/engine/cluster"
	"github.com/vbwd-platform/vbwd-engine/engine/pgcoord"
)

// The engines sharing a database coordinate through engine/cluster; it
// reaches the engine through the cluster.Host setupCluster fills.

func defaultNodeID() string {
	host, _ := os.Hostname()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return host + "-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b)
}

// NodeID names this engine among the nodes sharing its database.
func (e *Engine) NodeID() string { return e.opts.NodeID }

var readAppliedChange = cluster.ReadAppliedChange

// setupCluster builds this node's side of the cluster (engine/cluster);
// Start turns its change log on (the tables are engine/enginedb's).
func (e *Engine) setupCluster() {
	e.cluster = cluster.New(cluster.Host{ApplyChange: e.applyChange, Plugins: e.Plugins, Closing: e.closing.Load,
		RunListener: e.runListener, HealPackages: func(ctx context.Context) { e.pkg.Heal(ctx) }},
		cluster.Config{DB: e.opts.DB, NodeID: e.opts.NodeID, Root: e.opts.Root}, e.log)
}

// runListener runs l until e.quit is closed, noting when its LISTEN is
// first in place (readiness waits for the stream relay's).
func (e *Engine) runListener(l pgcoord.Listener) { e.listening.Listen(e.opts.DB, e.log, e.quit, l) }

// applyChange applies one admin change on this node and returns its result
// (a ReloadResult, a RescanResult, or nil).
func (e *Engine) applyChange(ctx context.Context, action, plugin string, payload []byte) (any, error) {
	switch action {
	case "reload":
		return e.Reload(ctx, plugin)
	case "rescan":
		return e.Rescan(ctx)
	case "packages":
		return e.pkg.Apply(ctx, payload)
	case "enable", "disable":
		opts := struct {
			Cascade *bool `json:"cascade"`
		}{}
		_ = json.Unmarshal(payload, &opts)
		cascade := opts.Cascade == nil || *opts.Cascade // rows of older engines: cascade
		return nil, e.SetEnabled(ctx, plugin, action == "enable", cascade)
	case "config":
		var cfg map[string]any
		if err := json.Unmarshal(payload, &cfg); err != nil {
			return nil, err
		}
		return e.SetConfig(ctx, plugin, cfg)
	}
	return nil, fmt.Errorf("unknown admin action %q", action)
}
