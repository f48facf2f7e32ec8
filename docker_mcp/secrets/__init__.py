"""Secrets: the credential store (a Docker credential helper), named user secrets, and the resolver
chain that finds a secret's value (Docker secrets dir, environment, credential store, .env files)."""
