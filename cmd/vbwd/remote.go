package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// remoteFlags say how to reach a running engine's admin API.
type remoteFlags struct {
	addr  string
	token string
}

func (f *remoteFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.addr, "addr", envOr("VBWD_ADDR", "127.0.0.1:8080"), "address of the running engine")
	cmd.Flags().StringVar(&f.token, "token", "", "admin token, or a JWT whose role config.json grants admin.* (default $VBWD_ADMIN_TOKEN)")
}

// newRemoteCmds are `vbwd plugin reload|enable|disable <name>`: they ask a
// running engine's admin API.
func newRemoteCmds() []*cobra.Command {
	mk := func(verb, short string, query func() string) *cobra.Command {
		f := &remoteFlags{}
		cmd := &cobra.Command{
			Use:   verb + " <name>",
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return f.post(cmd.Context(), cmd.OutOrStdout(), "/admin/plugins/"+args[0]+"/"+verb+query())
			},
		}
		f.register(cmd)
		return cmd
	}
	var cascade bool
	disable := mk("disable", "Disable a plugin on a running engine (persisted to plugins.json)", func() string {
		if cascade {
			return "?cascade=true"
		}
		return ""
	})
	disable.Flags().BoolVar(&cascade, "cascade", false, "also disable the plugins that depend on it")
	all := &remoteFlags{}
	rescan := &cobra.Command{
		Use:   "rescan",
		Short: "Make a running engine rescan plugins/, plugins.json and config.json",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return all.post(cmd.Context(), cmd.OutOrStdout(), "/admin/plugins/reload")
		},
	}
	all.register(rescan)
	return []*cobra.Command{
		mk("reload", "Reload a plugin on a running engine (blue/green; the old generation keeps serving on error)", func() string { return "" }),
		mk("enable", "Enable a plugin on a running engine (persisted to plugins.json)", func() string { return "" }),
		disable, rescan,
	}
}

func (f *remoteFlags) post(ctx context.Context, out io.Writer, path string) error {
	return f.request(ctx, http.MethodPost, path, nil, out, false)
}

// request calls the admin API of the running engine. raw copies a 200 body
// as it streams (exports); otherwise a JSON answer is printed indented and a
// status of 300 or more is an error carrying its message.
func (f *remoteFlags) request(ctx context.Context, method, path string, body io.Reader, out io.Writer, raw bool) error {
	token := f.token
	if token == "" {
		token = os.Getenv("VBWD_ADMIN_TOKEN")
	}
	if token == "" {
		return fmt.Errorf("no admin token: set VBWD_ADMIN_TOKEN (as for the engine) or pass --token " +
			"(the admin token, or a JWT from vbwd token --roles <a role config.json grants admin.*>)")
	}
	base := f.addr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the engine at %s: %w", f.addr, err)
	}
	defer resp.Body.Close()
	if raw && resp.StatusCode == http.StatusOK {
		_, err := io.Copy(out, resp.Body)
		return err
	}
	b, _ := io.ReadAll(resp.Body)
	var pretty map[string]any
	if json.Unmarshal(b, &pretty) == nil {
		b, _ = json.MarshalIndent(pretty, "", "  ")
	}
	fmt.Fprintln(out, strings.TrimSpace(string(b)))
	if resp.StatusCode >= 300 {
		msg, _ := pretty["error"].(string)
		if msg == "" {
			msg = resp.Status
		}
		return fmt.Errorf("%s (HTTP %d)", msg, resp.StatusCode)
	}
	return nil
}
