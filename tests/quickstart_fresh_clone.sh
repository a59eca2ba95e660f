#!/bin/sh
# The README's Quick start, word for word, on a fresh clone with DEMO_PORT=0 (issue #15):
# `make demo` in one "terminal" (in the background), then the README's other-terminal block
# (the ```bash block that starts with `source .demo/env`) and its Python block in another shell
# that has nothing but what .demo/env gives it. Exits non-zero on the first step that fails.
#
#   tests/quickstart_fresh_clone.sh [REPO]          # default: this checkout (its committed HEAD)
#
# QUICKSTART_VENV=/path/to/.venv   use an installed venv instead of installing one (no network):
#                                  it becomes the clone's .venv and `make` is told not to rebuild
#                                  it (-o); PYTHONPATH points at the clone, so its code runs
# QUICKSTART_DOC=docs/getting-started.md   take the shell block from this page instead of README
# DEMO_SCALE=tiny                  a smaller demo (seconds instead of minutes); passed to make
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
repo=${1:-$here}
work=$(mktemp -d "${TMPDIR:-/tmp}/campfire-quickstart.XXXXXX")
echo "quickstart: cloning $repo into $work/campfire"
git clone --quiet "$repo" "$work/campfire"
cd "$work/campfire"
make_opts=""
if [ -n "${QUICKSTART_VENV:-}" ]; then
    ln -s "$QUICKSTART_VENV" .venv
    make_opts="-o .venv/.installed -o .venv/.system-packages"
    PYTHONPATH="$PWD"
    export PYTHONPATH
fi

# terminal 1: make demo (its own process group, so we can stop what we started)
setsid make $make_opts demo DEMO_PORT=0 >"$work/make-demo.log" 2>&1 &
demo_pid=$!
stop_demo() {  # what we started: make demo's process group, then the server it left
    /bin/kill -s TERM -- "-$demo_pid" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        /bin/kill -s 0 -- "-$demo_pid" 2>/dev/null || break
        sleep 1
    done
    /bin/kill -s KILL -- "-$demo_pid" 2>/dev/null || true
    wait "$demo_pid" 2>/dev/null || true
    .venv/bin/python binder/demo.py stop --archive .demo/archive >/dev/null 2>&1 || true
}
trap stop_demo EXIT

waited=0
until grep -q "In another terminal" "$work/make-demo.log" 2>/dev/null; do
    if ! kill -0 "$demo_pid" 2>/dev/null; then
        echo "quickstart: make demo stopped early:" >&2
        tail -40 "$work/make-demo.log" >&2
        exit 1
    fi
    waited=$((waited + 5))
    if [ "$waited" -gt 3600 ]; then
        echo "quickstart: make demo not ready after an hour" >&2
        exit 1
    fi
    sleep 5
done
echo "quickstart: make demo is up after about $waited s:"
grep "campfire demo:" "$work/make-demo.log" | tail -5

# terminal 2: only the system PATH, no CAMPFIRE_* settings; answer the download prompt with y
doc=${QUICKSTART_DOC:-README.md}
awk '/^```bash$/ {inb=1; buf=""; next} /^```$/ && inb {if (buf ~ /^source \.demo\/env/) {printf "%s", buf; exit} inb=0; next} inb {buf = buf $0 "\n"}' \
    "$doc" >"$work/terminal2.sh"
if [ ! -s "$work/terminal2.sh" ]; then
    echo "quickstart: $doc has no \`\`\`bash block starting with 'source .demo/env'" >&2
    exit 1
fi
awk '/^```python$/ {inb=1; next} /^```$/ && inb {exit} inb {print}' README.md >"$work/quickstart.py"
echo "quickstart: running the block of $doc:"
cat "$work/terminal2.sh"
clean_env() {
    env -i HOME="$HOME" PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 TERM=dumb \
        ${PYTHONPATH:+PYTHONPATH="$PYTHONPATH"} "$@"
}
echo y | clean_env bash -e "$work/terminal2.sh"
echo "quickstart: running the README's Python block"
clean_env bash -e -c ". .demo/env && python $work/quickstart.py"
echo "quickstart: OK (the clone is in $work/campfire)"
