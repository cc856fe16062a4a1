"""Developer tools: local fakes of external services for tests and demos."""
