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
// reaches the engine through clusterHost.

func defaultNodeID() string {
	host, _ := os.Hostname()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return host + "-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b)
}

// NodeID names this engine among the nodes sharing its database.
func (e *Engine) NodeID() string { return e.opts.NodeID }

var readAppliedChange = cluster.ReadAppliedChange

// startCluster starts listening for admin changes (the tables are
// engine/enginedb's). Without a database it does nothing.
func (e *Engine) startCluster(ctx context.Context) error {
	return e.cluster.Start(ctx)
}

// applyAdmin applies an admin action made on this node, through the
// cluster's change log when there is a database (see engine/cluster).
func (e *Engine) applyAdmin(ctx context.Context, action, plugin string, payload any) (any, error) {
	return e.cluster.ApplyAdmin(ctx, action, plugin, payload)
}

func (e *Engine) nodes(ctx context.Context, plugin string) ([]NodeStatus, error) {
	return e.cluster.Nodes(ctx, plugin)
}

// applyChange applies one admin change on this node and returns its result
// (a ReloadResult, a RescanResult, or nil).
func (e *Engine) applyChange(ctx context.Context, action, plugin string, payload []byte) (any, error) {
	switch action {
	case "reload":
		return e.Reload(ctx, plugin)
	case "rescan":
		return e.Rescan(ctx)
	case "packages":
		return e.applyPackages(ctx, payload)
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

// clusterHost is the engine as engine/cluster sees it (cluster.Host).
type clusterHost struct{ e *Engine }

func (h clusterHost) ApplyChange(ctx context.Context, action, plugin string, payload []byte) (any, error) {
	return h.e.applyChange(ctx, action, plugin, payload)
}

func (h clusterHost) Plugins() []PluginStatus { return h.e.Plugins() }

func (h clusterHost) Closing() bool { return h.e.closing.Load() }

func (h clusterHost) RunListener(l pgcoord.Listener) {
	h.e.listening.Listen(h.e.opts.DB, h.e.log, h.e.quit, l)
}

func (h clusterHost) HealPackages(ctx context.Context) { h.e.healPackages(ctx) }
