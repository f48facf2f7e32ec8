"""Real servers the integration and e2e tests run on 127.0.0.1 (stand-ins and reference implementations)."""
