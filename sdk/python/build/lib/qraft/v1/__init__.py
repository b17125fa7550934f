"""qraft's wire protocol (qraft.v1), generated from proto/ by scripts/gen-python-stubs.sh.

Do not edit: regenerate. Most code needs only the `qraft` package's own API.
"""
