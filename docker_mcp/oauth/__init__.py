"""OAuth for remote MCP servers: one authorize flow, with a pre-registered client from the catalog or a
client obtained by dynamic registration; tokens in the credential store; refresh and revoke."""
