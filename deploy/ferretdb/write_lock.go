// Added by the Amman e-services build of FerretDB v1.24.2 (deploy/infra.sh).
//
// FerretDB v1 runs update, findAndModify and delete as a query followed by a separate write, so
// two clients racing on one document can both match a condition such as {_id, version: 3} and
// both write: a conditional single-document update is not atomic, as it is in MongoDB (measured:
// 201 of 200 conditional updates "won"). The platform's optimistic concurrency, leases and
// outbox depend on that atomicity, so this build serialises the write commands of each
// collection: two writes to one document always share their collection's lock, while writes to
// different collections (and databases: each service has its own) run side by side, as the
// PostgreSQL backend allows. With AMMAN_WRITE_LOCK=global in its environment (deploy/infra.sh
// sets it for SQLite, which has one writer per database file anyway) one lock serves every
// write, as in the build before. Reads are not affected.

package handler

import (
	"os"
	"sync"

	"github.com/FerretDB/wire"

	"github.com/FerretDB/FerretDB/internal/bson"
)

var (
	writeLocksMu sync.Mutex
	writeLocks   = map[string]*sync.Mutex{}
	globalLock   = os.Getenv("AMMAN_WRITE_LOCK") == "global"
)

// writeLock takes the lock of the collection msg writes to and returns its release. A message
// that cannot be read takes the lock of the empty name (the handler then reports its error).
func writeLock(msg *wire.OpMsg) func() {
	var key string

	if globalLock {
		// one lock for every write: the key stays empty
	} else if doc, err := bson.ToDocument(msg.RawSection0()); err == nil {
		if v, err := doc.Get("$db"); err == nil {
			key, _ = v.(string)
		}

		if v, err := doc.Get(doc.Command()); err == nil {
			collection, _ := v.(string)
			key += "\x00" + collection
		}
	}

	writeLocksMu.Lock()
	mu := writeLocks[key]

	if mu == nil {
		mu = new(sync.Mutex)
		writeLocks[key] = mu
	}
	writeLocksMu.Unlock()

	mu.Lock()

	return mu.Unlock
}
