"""A small service that exists only for the foundation's tests: it uses every shared piece.

`POST /v1/notes` stores a note and its `testsvc.note.created.v1` event in one update (the outbox);
the `testsvc.tally` consumer counts each note once per instance; notes with a `remind_at` are
acted on by a deadline sweeper. Its events live in a registry of its own, never in `contracts/`.
"""
