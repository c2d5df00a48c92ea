#!/usr/bin/env bash
# reference/ is the sans-I/O oracle: it must not include Asio, OpenSSL, sockets,
# threads or clocks. results/ (the result model) holds no I/O either, and results/
# and reports/ include nothing of harness/, Asio, OpenSSL's TLS or toml++, so
# `smtpspec report` builds without them (cmake/layering.cmake checks the links).
# Fails (exit 1) naming every offending line.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
io='boost/|asio|openssl/|sys/socket\.h|netinet/|arpa/|netdb\.h|poll\.h|sys/epoll\.h|unistd\.h|thread>|future>|fstream>|iostream>|cstdio>'
# Tests and benchmarks beside the library may read files and print; the library may not.
if grep -rnE "#\s*include\s*[<\"]($io|chrono>)" reference/include reference/src; then
  echo "check-reference-purity: reference/ must stay free of I/O (see the lines above)" >&2
  status=1
fi
# results/ keeps <chrono>: durations, and the transcript's clock.
if grep -rnE "#\s*include\s*[<\"]($io)" results/include results/src; then
  echo "check-reference-purity: results/ must stay free of I/O (see the lines above)" >&2
  status=1
fi
# reports/ may hash with openssl/evp.h (the HTML report's CSP) and its tests may use files.
if grep -rnE '#\s*include\s*[<"](boost/|asio|openssl/ssl|toml|smtpspec/harness/)' results reports; then
  echo "check-reference-purity: results/ and reports/ must not include harness/, Asio, OpenSSL TLS or toml++ headers" >&2
  status=1
fi
[[ $status == 0 ]] || exit 1
echo "check-reference-purity: reference/ and results/ include no I/O header; reports/ no harness/, Asio, TLS or toml++ header"
