"""Licensing: a first professional (vocational) licence for a business inside a camp (seed 000)."""
