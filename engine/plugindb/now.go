package plugindb

import (
	"context"
	"fmt"

	vdb "github.com/vbwd-platform/vbwd-engine/stdlib/db"
)

// ensureNow creates public.vbwd_now() (stdlib/db NowFunctionSQL) before the
// first plugin's migrations run, so that they and every plugin's SQL may
// use it: now() in production, the test clock under `vbwd test`. A function
// already there is left as it is (another engine, or an operator, made it;
// create or replace would need to own it). Call it under prep.
func (r *dbRoles) ensureNow(ctx context.Context) error {
	if r.now {
		return nil
	}
	var exists bool
	if err := r.admin.QueryRow(ctx, `select exists (select 1 from pg_proc
		where proname = 'vbwd_now' and pronamespace = 'public'::regnamespace)`).Scan(&exists); err != nil {
		return fmt.Errorf("vbwd_now(): %w", err)
	}
	if !exists {
		if _, err := r.admin.Exec(ctx, vdb.NowFunctionSQL); err != nil {
			return fmt.Errorf("creating vbwd_now(): %w", err)
		}
	}
	r.now = true
	return nil
}
