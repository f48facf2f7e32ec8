"""Catalogs of MCP servers: the typed server entry (schema), the files under ~/.docker/mcp (store),
catalog operations (importer) and the enabled-server files (registry)."""
