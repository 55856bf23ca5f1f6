// Added by the Amman e-services build of FerretDB v1.24.2 (deploy/infra.sh).
//
// FerretDB v1 runs update, findAndModify and delete as a query followed by a separate write, so
// two clients racing on one document can both match a condition such as {_id, version: 3} and
// both write: a conditional single-document update is not atomic, as it is in MongoDB (measured:
// 201 of 200 conditional updates "won"). The platform's optimistic concurrency, leases and
// outbox depend on that atomicity, so this build serialises the write commands. SQLite allows a
// single writer anyway; reads are not affected.

package handler

import "sync"

var writeMu sync.Mutex
