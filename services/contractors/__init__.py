"""The contractors service: renewal of a contractor's permit (seed 001)."""
