// The one way harness code includes Boost.Asio. Boost 1.74's awaitable.hpp uses
// std::exchange without including <utility> (shared/toolchain.md, 1).
#pragma once

#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
