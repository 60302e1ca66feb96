package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/vbwd-platform/vbwd-engine/internal/auth"
)

func newTokenCmd() *cobra.Command {
	var sub, roles string
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "token --sub ID [--roles a,b] [--ttl 24h]",
		Short: "Mint an HS256 API token signed with VBWD_JWT_SECRET (for development and tests)",
		Long: `Mint an HS256 API token signed with VBWD_JWT_SECRET (for development and tests).

Application roles (admin, subscriber, ...) get what the plugins grant them. The
engine's admin API (/admin, vbwd plugin ...) admits a token only when the root
config.json grants one of its roles admin.* permissions, e.g.
  "vbwd": {"roles": {"vbwd-admin": ["admin.*"]}}
then: vbwd token --sub ops --roles vbwd-admin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			secret := os.Getenv("VBWD_JWT_SECRET")
			if secret == "" {
				return fmt.Errorf("VBWD_JWT_SECRET is not set: the engine verifies tokens with it, so set the same value for both")
			}
			if sub == "" {
				return fmt.Errorf("--sub is required: the user id the token speaks for")
			}
			var rs []string
			for _, r := range strings.Split(roles, ",") {
				if r = strings.TrimSpace(r); r != "" {
					rs = append(rs, r)
				}
			}
			tok, err := auth.Mint(secret, sub, rs, ttl, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			return nil
		},
	}
	cmd.Flags().StringVar(&sub, "sub", "", "user id (the sub claim)")
	cmd.Flags().StringVar(&roles, "roles", "", "comma-separated roles")
	cmd.Flags().DurationVar(&ttl, "ttl", 24*time.Hour, "validity")
	return cmd
}
