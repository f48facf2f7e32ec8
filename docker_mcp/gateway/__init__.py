"""The gateway: one MCP endpoint in front of the enabled servers (configuration, backends, aggregation
and routing, front transports)."""
