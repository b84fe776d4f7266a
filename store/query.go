package store

import (
	"context"
	"database/sql"
	"io"
)

// release closes what a read or a transaction used (a result set, a
// prepared statement) once done with it. Its error is not worth
// reporting: rows.Err, or the transaction's commit, says whether the work
// succeeded, and a failed close loses nothing.
func release(c io.Closer) { _ = c.Close() }

// oneRow is the outcome of a statement that must change one row: its
// error, else missing when it changed none.
func oneRow(res sql.Result, err error, missing error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return missing
	}
	return nil
}

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
