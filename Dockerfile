# The gateway image: `docker mcp gateway run` in a container, for Compose and Swarm (docs/gateway.md,
# "In a container" and "Several replicas"). It is built from the zipapp that scripts/build makes:
#
#   scripts/build && docker build -t docker-mcp-gateway .
#
# BASE: a Debian (or Debian-like) image whose python3 is the Python minor version (3.11) and CPU
# architecture of the Linux machine that ran scripts/build: the zipapp carries compiled extensions
# (pydantic-core, httptools, …) for them. The tests build on their own Debian bookworm image
# (tests/e2e/test_gateway_in_container.py), as this machine pulls nothing.
ARG BASE=python:3.11-slim-bookworm
FROM ${BASE}

# SHIV_ROOT: where the zipapp's dependencies are unpacked. They are unpacked (and byte-compiled) here,
# once, by the `version` run below, so that a container starts without unpacking 37 MB and runs with a
# read-only root file system (`docker run --read-only`, `read_only: true` in Compose).
ENV SHIV_ROOT=/opt/docker-mcp/unpacked \
    DOCKER_MCP_IN_CONTAINER=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/home/mcp \
    MCP_GATEWAY_PORT=8811
COPY dist/docker-mcp /opt/docker-mcp/docker-mcp
# /var/lib/docker-mcp: where DOCKER_MCP_STATE_DIR may point, a named volume mounted there starts owned
# by the gateway's user (docs/gateway.md, "OAuth servers from a container")
RUN python3 /opt/docker-mcp/docker-mcp version >/dev/null \
    && mkdir -p /home/mcp /var/lib/docker-mcp \
    && chown 10001:10001 /home/mcp /var/lib/docker-mcp

# not root; a gateway that runs container servers needs the engine's socket mounted and its group
# (`--group-add $(stat -c %g /var/run/docker.sock)`), and the docker CLI in an image built FROM this one
USER 10001:10001
EXPOSE 8811
# liveness: the gateway answers /health on its port (MCP_GATEWAY_PORT, 8811 unless set)
# (the start period covers the servers' connections, DOCKER_MCP_CONNECT_TIMEOUT 60 s, before the port opens)
HEALTHCHECK --interval=10s --timeout=3s --start-period=90s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('MCP_GATEWAY_PORT', '8811'), timeout=2)"]
# `docker stop` sends SIGTERM: requests in flight get 5 s, then the gateway exits 0 (docs/gateway.md)
STOPSIGNAL SIGTERM
ENTRYPOINT ["python3", "/opt/docker-mcp/docker-mcp", "gateway", "run"]
CMD ["--transport", "streaming"]
