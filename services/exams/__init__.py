"""The exams service: requests to hold an official or a trial exam (seed 004). See README.md."""
