package store

import (
	"context"
	"io"
)

// release closes what a read or a transaction used (a result set, a
// prepared statement) once done with it. Its error is not worth
// reporting: rows.Err, or the transaction's commit, says whether the work
// succeeded, and a failed close loses nothing.
func release(c io.Closer) { _ = c.Close() }

// queryAll runs a query on the read pool and scans every row with scan;
// errors are wrapped with op. The result is never nil, so that an empty
// listing encodes as [] in JSON.
func queryAll[T any](ctx context.Context, q querier, op string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer release(rows)
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, v)
	}
	return out, wrap(op, rows.Err())
}
