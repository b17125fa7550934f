#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build and test qraft. Safe to run repeatedly:
# it installs only what is missing.
set -euo pipefail

need=()
# rocksdb's bindings run bindgen on every build: it needs libclang; the C++ parts need g++.
# libclang-cpp (which LLVM pulls in) is not it: bindgen loads libclang.so or libclang-N.so.
if ! ls /usr/lib/llvm-*/lib/libclang.so* /usr/lib/llvm-*/lib/libclang-[0-9]*.so* >/dev/null 2>&1 \
    && ! ldconfig -p 2>/dev/null | grep -Eq 'libclang(-[0-9.]+)?\.so'; then
    need+=(libclang-dev)
fi
command -v c++ >/dev/null 2>&1 || need+=(g++)
command -v make >/dev/null 2>&1 || need+=(make)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
# The console's end-to-end test drives qraft-tui in a real terminal multiplexer.
command -v tmux >/dev/null 2>&1 || need+=(tmux)
# The chaos suite cuts links between network namespaces with iptables (and ip from iproute2).
command -v iptables >/dev/null 2>&1 || [ -x /usr/sbin/iptables ] || need+=(iptables)
command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || need+=(iproute2)
# The HTTP example worker (examples/http/worker.sh), which a test runs, is curl and jq.
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v jq >/dev/null 2>&1 || need+=(jq)
# Tests move one node's wall clock with libfaketime (LD_PRELOAD), as a stepped clock would.
# (Either place will do: `ls` of both would fail whenever one is missing.)
compgen -G "/usr/lib/*/faketime/libfaketimeMT.so.1" >/dev/null \
    || [ -e /usr/lib/faketime/libfaketimeMT.so.1 ] || need+=(faketime)

if ((${#need[@]})); then
    echo "setup: installing ${need[*]}"
    sudo_cmd=()
    if [ "$(id -u)" != 0 ]; then sudo_cmd=(sudo); fi
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The Python SDK's tests run in a venv under the cache directory (never the system Python),
# with the SDK installed editable and its pinned stub generator.
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c "import venv, ensurepip" >/dev/null 2>&1; then
    echo "setup: installing python3 and its venv module"
    sudo_cmd=()
    if [ "$(id -u)" != 0 ]; then sudo_cmd=(sudo); fi
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq python3 python3-venv >/dev/null
fi
source "$(dirname "$0")/env.sh"
if [ ! -x "$QRAFT_VENV/bin/python" ]; then
    echo "setup: creating the Python venv $QRAFT_VENV"
    python3 -m venv "$QRAFT_VENV"
fi
sdk="$QRAFT_ROOT/sdk/python"
stamp="$QRAFT_VENV/.qraft-sdk-installed"
# Editable: the venv imports this checkout's code, so a clone elsewhere must install again.
installed_from=$("$QRAFT_VENV/bin/python" -c "import qraft, grpc_tools, pytest; print(qraft.__file__)" 2>/dev/null || true)
if [ ! -f "$stamp" ] || [ "$sdk/pyproject.toml" -nt "$stamp" ] \
    || [ "$installed_from" != "$sdk/src/qraft/__init__.py" ]; then
    echo "setup: installing the Python SDK (editable) and its test tools into the venv"
    "$QRAFT_VENV/bin/python" -m pip install -q --upgrade pip
    "$QRAFT_VENV/bin/python" -m pip install -q -e "$sdk[dev]"
    touch "$stamp"
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "setup: cargo is missing; install Rust (https://rustup.rs) first" >&2
    exit 1
fi
for component in rustfmt clippy; do
    if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
        rustup component add "$component" >/dev/null 2>&1 || true
    fi
done
echo "setup: ok"
