"""The courses service: requests to attend a course at a Knowledge Station (seed 002)."""
