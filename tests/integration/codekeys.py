"""The code key pair of a test run (services/common/codeseal.py): the public half for every
service, the private half for the notifier, as a deployment hands them out."""

from __future__ import annotations

from services.common.codeseal import new_key_pair

CODE_PRIVATE_KEY, CODE_PUBLIC_KEY = new_key_pair()
