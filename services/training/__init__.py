"""Training, and mission facilitation, for students and delegates (seed 003)."""
