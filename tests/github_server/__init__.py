"""A local GitHub-compatible HTTP server for tests: PyGithub runs its real code against it."""
