package load

import (
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// ErrUnavailable is wrapped by the errors of a database that cannot be
// reached now but may be later: the connection refused or timing out, the
// server starting up or shutting down, too many connections. A wrong
// password, a missing database or a missing grant are not.
var ErrUnavailable = errors.New("the database cannot be reached")

// unavailableError marks err as ErrUnavailable, keeping its text.
type unavailableError struct{ err error }

func (e unavailableError) Error() string        { return e.err.Error() }
func (e unavailableError) Unwrap() []error      { return []error{ErrUnavailable, e.err} }
func (e unavailableError) Is(target error) bool { return target == ErrUnavailable }

// markUnavailable wraps err as ErrUnavailable when it says the database
// could not be reached, and returns it unchanged otherwise.
func markUnavailable(err error) error {
	if err == nil || !Unavailable(err) || errors.Is(err, ErrUnavailable) {
		return err
	}
	return unavailableError{err}
}

// ErrPermission is a privilege the database role lacks: a person must
// GRANT it, and trying again changes nothing.
var ErrPermission = errors.New("the database role lacks a privilege")

// PermissionDenied reports whether err is a privilege the role lacks:
// ErrPermission, or PostgreSQL's insufficient_privilege (SQLSTATE 42501).
func PermissionDenied(err error) bool {
	var pgErr *pgconn.PgError
	return errors.Is(err, ErrPermission) || (errors.As(err, &pgErr) && pgErr.Code == "42501")
}

// Unavailable reports whether err means the database cannot be reached now
// but may be later.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrUnavailable) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "57P01", "57P02", "57P03", "53300", "08000", "08001", "08003", "08006":
			// admin_shutdown, crash_shutdown, cannot_connect_now,
			// too_many_connections, connection exceptions
			return true
		}
		return false
	}
	var netErr net.Error
	var opErr *net.OpError
	return errors.As(err, &opErr) || (errors.As(err, &netErr) && netErr.Timeout()) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
		pgconn.Timeout(err) || pgconn.SafeToRetry(err)
}
