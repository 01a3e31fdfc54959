"""Helpers shared by the test suites (servers in the background, clients in subprocesses, the
command run in process, store folders read back)."""
