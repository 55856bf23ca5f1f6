"""The shared runtime every service uses: settings, storage, broker, outbox, auth, errors, health.

It holds no domain logic: no word of any seed document appears here.
"""
