"""The SMS templates, as data: `catalogue.json` lists them, one `<name>.<lang>.j2` file a language.

A package only so that the files are installed with the service (package data).
"""
