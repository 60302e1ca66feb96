package main

import (
	"context"
	"log/slog"

	"github.com/spf13/cobra"
	"github.com/vbwd-platform/vbwd-engine/engine"
)

func newOpenAPICmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "openapi",
		Short: "Print the OpenAPI 3.1 document of the plugins' routes and the engine's endpoints, without serving",
		Long: `Loads the plugins as serve would (against DATABASE_URL, or the embedded database under
<root>/.data, applying pending migrations) without listening, and prints the document
GET /openapi.json serves: every route of every enabled plugin with its path parameters,
its permission or auth as a security requirement, the summary and schemas its route
options declare, plus the admin API, data exchange, health and metrics.

Example:
  vbwd openapi --root . > openapi.json

Environment: VBWD_ROOT, DATABASE_URL.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			doc, err := openAPIDocument(cmd.Context(), g)
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(doc)
			return err
		},
	}
}

func openAPIDocument(ctx context.Context, g *globals) ([]byte, error) {
	log, _, flush, err := g.logger(false)
	if err != nil {
		return nil, err
	}
	defer flush()
	// routes(r) runs in the plugins' states, which start only after their
	// migrations: the document needs the database as serve does.
	db, closeDB, err := openDatabase(ctx, g.root, quietBelow(log, slog.LevelWarn))
	if err != nil {
		return nil, err
	}
	defer closeDB()
	eng, err := engine.New(engine.Options{Root: g.root, Logger: quiet(log), DB: db, PoolMin: 1})
	if err != nil {
		return nil, err
	}
	if err := eng.Start(ctx); err != nil {
		return nil, err
	}
	doc := eng.OpenAPI()
	return doc, eng.Shutdown(context.Background())
}
