package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/vbwd-platform/vbwd-engine/engine"
	"github.com/vbwd-platform/vbwd-engine/pkgs"
)

// newPkgCmds are `vbwd plugin install|update|remove|verify|search|pack|keygen`:
// plugins as packages (pkgs), on the local root.
func newPkgCmds(g *globals) []*cobra.Command {
	manager := func(cmd *cobra.Command) (*pkgs.Manager, error) {
		m, err := pkgs.New(g.root, pkgs.EngineInspector)
		if err != nil {
			return nil, err
		}
		m.Log = cmd.ErrOrStderr()
		return m, nil
	}
	var enable bool
	remote := map[*cobra.Command]*remoteTarget{}
	install := &cobra.Command{
		Use:   "install [<source>[@version]]",
		Short: "Install a plugin from a git repository, an archive or the configured indexes (no argument: reproduce plugins.lock)",
		Long: `Install a plugin and the dependencies it lacks (from the indexes in config.json
"vbwd": {"packages": {"indexes": [...]}}), recording it in plugins.lock.

Sources:
  blog, blog@^1.2                      a plugin from the configured indexes
  https://host/blog-1.2.0.tar.gz       an archive by URL or path (.tar.gz, .tgz)
  https://host/org/blog.git@v1.2.0     a git repository (URL or local path) at a tag,
  git+<repo>#<subdir>@<commit>         commit or range; the plugin at its root or in <subdir>

Without an argument, install reproduces plugins.lock: every locked plugin
missing from plugins/ is fetched at its pinned commit or archive.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if r := remote[cmd]; r.on {
				return r.send(cmd, "install", pkgs.Request{Source: strings.Join(args, ""), Enable: enable})
			}
			m, err := manager(cmd)
			if err != nil {
				return err
			}
			var ch []pkgs.Change
			if len(args) == 0 {
				ch, err = m.Sync(cmd.Context(), pkgs.InstallOptions{Enable: enable})
			} else {
				ch, err = m.Install(cmd.Context(), args[0], pkgs.InstallOptions{Enable: enable})
			}
			return printChanges(cmd.OutOrStdout(), ch, err)
		},
	}
	install.Flags().BoolVar(&enable, "enable", false, "enable the installed plugins in plugins.json")
	update := &cobra.Command{
		Use:   "update [name[@version]...]",
		Short: "Update installed plugins to the newest versions every dependency range allows",
		RunE: func(cmd *cobra.Command, args []string) error {
			if r := remote[cmd]; r.on {
				return r.send(cmd, "update", pkgs.Request{Names: args})
			}
			m, err := manager(cmd)
			if err != nil {
				return err
			}
			ch, err := m.Update(cmd.Context(), args)
			return printChanges(cmd.OutOrStdout(), ch, err)
		},
	}
	remove := &cobra.Command{
		Use:   "remove <name>",
		Short: "Remove an installed plugin (refused while installed plugins depend on it)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if r := remote[cmd]; r.on {
				return r.send(cmd, "remove", pkgs.Request{Names: args})
			}
			m, err := manager(cmd)
			if err != nil {
				return err
			}
			ch, err := m.Remove(cmd.Context(), args[0])
			return printChanges(cmd.OutOrStdout(), ch, err)
		},
	}
	for _, c := range []*cobra.Command{install, update, remove} {
		r := &remoteTarget{}
		c.Flags().BoolVar(&r.on, "remote", false, "ask a running engine (--addr): every node sharing its database installs the same archives")
		r.register(c)
		remote[c] = r
	}
	return []*cobra.Command{install, update, remove, newVerifyCmd(g), newSearchCmd(g), newPackCmd(g), newKeygenCmd()}
}

func newVerifyCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "verify",
		Short: "Compare plugins/ with plugins.lock (fails when a locked plugin is missing or modified)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := pkgs.New(g.root, pkgs.EngineInspector)
			if err != nil {
				return err
			}
			st, err := m.Verify()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tVERSION\tSTATE\tDETAIL")
			bad := 0
			for _, s := range st {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, orDash(s.Version), s.State, orDash(s.Detail))
				if s.State == "modified" || s.State == "missing" {
					bad++
				}
			}
			_ = tw.Flush()
			if bad > 0 {
				return fmt.Errorf("%d plugin(s) differ from %s", bad, pkgs.LockName)
			}
			return nil
		},
	}
}

func newSearchCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "search [term]",
		Short: "Search the configured plugin indexes by name or description",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := pkgs.New(g.root, pkgs.EngineInspector)
			if err != nil {
				return err
			}
			res, err := m.Search(cmd.Context(), strings.Join(args, " "))
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tLATEST\tDESCRIPTION")
			for _, r := range res {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, r.Latest, orDash(r.Description))
			}
			return tw.Flush()
		},
	}
}

func newPackCmd(g *globals) *cobra.Command {
	var out, keyFile string
	cmd := &cobra.Command{
		Use:   "pack <name|directory>",
		Short: "Write a plugin's archive and its entry in <out>/index.json (a static index any host can serve)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if !strings.ContainsAny(dir, `/\`) && dir != "." {
				dir = filepath.Join(g.root, "plugins", dir)
			}
			dir, err := filepath.Abs(dir)
			if err != nil {
				return err
			}
			var key ed25519.PrivateKey
			if keyFile != "" {
				if key, err = pkgs.ReadPrivateKey(keyFile); err != nil {
					return err
				}
			}
			res, err := pkgs.Pack(cmd.Context(), pkgs.EngineInspector, dir, out, key)
			if err != nil {
				return err
			}
			signed := ""
			if key != nil {
				signed = " (signed)"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "packed %s %s: %s%s\nindex: %s\nsha256: %s\n", res.Name, res.Version, res.Archive, signed, res.Index, res.Entry.SHA256)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "dist", "directory for the archive and index.json")
	cmd.Flags().StringVar(&keyFile, "sign-key", "", "sign with this Ed25519 private key (from vbwd plugin keygen)")
	return cmd
}

func newKeygenCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Make an Ed25519 key pair for signing plugin archives",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			priv, pub, err := pkgs.GenerateKey()
			if err != nil {
				return err
			}
			f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintln(f, priv); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "private key written to %s (keep it secret)\npublic key (for config.json vbwd.packages.trusted_keys):\n%s\n", out, pub)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "vbwd-sign.key", "file for the private key (must not exist)")
	return cmd
}

func printChanges(w io.Writer, ch []pkgs.Change, err error) error {
	if err != nil {
		return err
	}
	for _, c := range ch {
		switch {
		case c.Note != "" && c.From == c.To:
			fmt.Fprintf(w, "%s %s: %s\n", c.Name, c.From, c.Note)
			continue
		case c.To == "":
			fmt.Fprintf(w, "removed %s %s\n", c.Name, c.From)
		case c.From == "":
			fmt.Fprintf(w, "installed %s %s from %s (hash %s)\n", c.Name, c.To, c.Source, c.Hash)
		default:
			fmt.Fprintf(w, "updated %s %s -> %s (hash %s)\n", c.Name, c.From, c.To, c.Hash)
		}
		if c.Note != "" {
			fmt.Fprintf(w, "  %s\n", c.Note)
		}
	}
	if len(ch) > 0 {
		fmt.Fprintln(w, "a running engine picks the change up with `vbwd plugin rescan`")
	}
	return nil
}

// listedPlugin is a `vbwd plugin list` row: the engine's status and where
// the plugin came from (plugins.lock's source, or "local" when copied by
// hand).
type listedPlugin struct {
	engine.PluginStatus
	Source string `json:"source"`
}

func withSources(root string, st []engine.PluginStatus) []listedPlugin {
	lock, err := pkgs.ReadLock(root)
	if err != nil {
		lock = &pkgs.LockFile{}
	}
	out := make([]listedPlugin, len(st))
	for i, s := range st {
		out[i] = listedPlugin{PluginStatus: s, Source: "local"}
		if e := lock.Plugins[s.Name]; e != nil {
			out[i].Source = e.Source
		}
	}
	return out
}

// remoteTarget sends a package request to a running engine's admin API
// (POST /admin/packages/{action}).
type remoteTarget struct {
	on bool
	remoteFlags
}

func (r *remoteTarget) send(cmd *cobra.Command, action string, req pkgs.Request) error {
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	return r.request(cmd.Context(), http.MethodPost, "/admin/packages/"+action, bytes.NewReader(b), cmd.OutOrStdout(), false)
}
