#!/usr/bin/env bash
# reference/ is the sans-I/O oracle: it must not include Asio, OpenSSL, sockets,
# threads or clocks. Fails (exit 1) naming every offending line.
set -euo pipefail
cd "$(dirname "$0")/.."
pattern='#\s*include\s*[<"](boost/|asio|openssl/|sys/socket\.h|netinet/|arpa/|netdb\.h|poll\.h|sys/epoll\.h|unistd\.h|thread>|chrono>|future>|fstream>|iostream>|cstdio>)'
# Tests and benchmarks beside the library may read files and print; the library may not.
if grep -rnE "$pattern" reference/include reference/src; then
  echo "check-reference-purity: reference/ must stay free of I/O (see the lines above)" >&2
  exit 1
fi
echo "check-reference-purity: reference/ includes no I/O, Asio, OpenSSL or socket header"
