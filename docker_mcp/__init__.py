"""docker-mcp: a Docker CLI plugin for MCP server catalogs, OAuth and the MCP gateway."""
