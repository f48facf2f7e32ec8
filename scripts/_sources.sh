# Sourced by scripts/build and scripts/install: a hash of everything the zipapp is built from, so that
# "is dist/docker-mcp current?" does not depend on file times (builds may overlap with edits).
sources_hash() {
  find docker_mcp setup.cfg pyproject.toml shiv.spec plugin-metadata.json scripts/finish_zipapp.py \
    -type f -not -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
}
