// Command riverbench measures riverqueue/river delivering N no-op and
// row-writing jobs, to compare with vbwd's outbox (BenchmarkDurableDelivery).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

type EventArgs struct {
	N int `json:"n"`
}

func (EventArgs) Kind() string { return "event" }

type worker struct {
	river.WorkerDefaults[EventArgs]
	pool  *pgxpool.Pool
	write bool
}

func (w *worker) Work(ctx context.Context, job *river.Job[EventArgs]) error {
	if w.write {
		_, err := w.pool.Exec(ctx, "insert into sink_rows (id, n) values ($1, $2)", job.ID, job.Args.N)
		return err
	}
	return nil
}

func main() {
	n := flag.Int("n", 20000, "jobs")
	workers := flag.Int("workers", 16, "max workers")
	write := flag.Bool("write", false, "worker writes a row")
	cooldown := flag.Duration("cooldown", 100*time.Millisecond, "FetchCooldown")
	flag.Parse()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	drv := riverpgxv5.New(pool)
	m, err := rivermigrate.New(drv, nil)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		log.Fatal(err)
	}
	_, _ = pool.Exec(ctx, "create table if not exists sink_rows (id bigint, n int)")
	_, _ = pool.Exec(ctx, "truncate river_job, sink_rows")

	ws := river.NewWorkers()
	river.AddWorker(ws, &worker{pool: pool, write: *write})
	client, err := river.NewClient(drv, &river.Config{
		Queues:        map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: *workers}},
		Workers:       ws,
		FetchCooldown: *cooldown,
	})
	if err != nil {
		log.Fatal(err)
	}
	params := make([]river.InsertManyParams, *n)
	for i := range params {
		params[i] = river.InsertManyParams{Args: EventArgs{N: i}}
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := client.InsertManyFastTx(ctx, tx, params); err != nil {
		log.Fatal(err)
	}
	start := time.Now()
	if err := tx.Commit(ctx); err != nil {
		log.Fatal(err)
	}
	if err := client.Start(ctx); err != nil {
		log.Fatal(err)
	}
	for {
		var left int
		if err := pool.QueryRow(ctx, "select count(*) from river_job where state <> 'completed'").Scan(&left); err != nil && err != pgx.ErrNoRows {
			log.Fatal(err)
		}
		if left == 0 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	el := time.Since(start)
	_ = client.Stop(ctx)
	fmt.Printf("river write=%v workers=%d cooldown=%v: %d jobs in %v = %.0f jobs/s\n", *write, *workers, *cooldown, *n, el.Round(time.Millisecond), float64(*n)/el.Seconds())
}
