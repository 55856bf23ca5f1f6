"""A small service that exists only for the foundation's tests: it uses every shared piece.

`POST /v1/notes` stores a note and its `testsvc.note.created.v1` event in one update (the outbox);
the `testsvc.tally` consumer counts each note once per instance; notes with a `remind_at` are
acted on by a deadline sweeper. `POST /v1/notes/{id}/certificate` asks for the note's certificate,
the first user of the shared documents (services/common/documents): a bilingual PDF issued once
by the issuer loop, verifiable at `/v1/verify/{id}`; staff (`testsvc.staff`) revoke it with
`POST /v1/notes/{id}/certificate/revocation`. Its events live in a registry of its own, never in
`contracts/`.
"""
