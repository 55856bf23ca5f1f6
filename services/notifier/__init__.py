"""The notifier: every SMS of the e-services, in Arabic and English, exactly once per event, with
retries and delivery status. See README.md."""
