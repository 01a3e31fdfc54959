"""Helpers shared by the test suites (servers in the background, clients in subprocesses)."""
