# Sourced by the scripts: make (or reuse) a virtual environment with the package and the given extras.
# usage: ensure_venv DIR EXTRAS   (EXTRAS like "build" or "build,test")
ensure_venv() {
  local dir=$1 extras=$2 stamp
  stamp="$dir/.stamp-$extras"
  if [ ! -x "$dir/bin/python" ]; then
    python3 -m venv "$dir"
  fi
  # Reinstall only when setup.cfg changed since the last install for these extras.
  if [ ! -f "$stamp" ] || [ setup.cfg -nt "$stamp" ]; then
    "$dir/bin/python" -m pip install -qq --upgrade pip
    "$dir/bin/python" -m pip install -qq -e ".[$extras]"
    touch "$stamp"
  fi
}
