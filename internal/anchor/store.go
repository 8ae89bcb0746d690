package anchor

import (
	"context"
	"errors"
)

// Store keeps named objects, such as checkpoint notes, somewhere the
// database administrator does not control. Names are slash-separated
// ("checkpoints/42", "latest"). Implementations must be safe for
// concurrent use, and writes must be atomic: a reader sees the old object
// or the new one, never a part.
type Store interface {
	// Get returns the object's bytes, or an error wrapping ErrNotFound.
	Get(ctx context.Context, name string) ([]byte, error)
	// Create stores an object that must not exist yet; if it does (even
	// if created concurrently) it returns an error wrapping ErrExists and
	// leaves it unchanged.
	Create(ctx context.Context, name string, data []byte) error
	// Put stores an object, replacing any previous one.
	Put(ctx context.Context, name string, data []byte) error
	// List returns the names of the objects whose names start with prefix,
	// in no particular order.
	List(ctx context.Context, prefix string) ([]string, error)
}

var (
	// ErrNotFound means a Store has no object of that name.
	ErrNotFound = errors.New("anchor: no such object")
	// ErrExists means Create found the object already there.
	ErrExists = errors.New("anchor: object exists")
	// ErrFork means a checkpoint of a size already published names another
	// root, or a published checkpoint is not one the ledger key signed.
	ErrFork = errors.New("anchor: published checkpoints disagree")
)
