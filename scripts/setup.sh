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

if ((${#need[@]})); then
    echo "setup: installing ${need[*]}"
    sudo_cmd=()
    if [ "$(id -u)" != 0 ]; then sudo_cmd=(sudo); fi
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The Python remote worker and its test: grpcio, and grpcio-tools to generate stubs.
if ! command -v python3 >/dev/null 2>&1; then
    echo "setup: installing python3"
    sudo_cmd=()
    if [ "$(id -u)" != 0 ]; then sudo_cmd=(sudo); fi
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq python3 python3-pip >/dev/null
fi
if ! python3 -c "import grpc, grpc_tools" >/dev/null 2>&1; then
    echo "setup: installing grpcio and grpcio-tools for the Python worker"
    python3 -m pip install -q grpcio grpcio-tools 2>/dev/null \
        || python3 -m pip install -q --break-system-packages grpcio grpcio-tools
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
