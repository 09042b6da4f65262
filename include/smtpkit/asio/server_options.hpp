// smtpkit asio: the types a server is configured and observed with: the executor and socket
// types of its connections, server_options, connection_info and server_stats. Part of the Asio
// server driver (include <smtpkit/asio/server.hpp>). RFC 5321 4.5.3.2 (the timeouts the session
// configuration carries), RFC 5321 3.8 and 4.2.3 (421 when over the connection limit).
// Only files under include/smtpkit/asio/ include Asio.
// SPDX-License-Identifier: MIT
#pragma once

#include <asio.hpp>  // io_context, strand, any_io_executor, ip::tcp, basic_stream_socket
#include <chrono>    // milliseconds
#include <cstddef>   // size_t
#include <cstdint>   // uint64_t
#include <smtpkit/core/config.hpp>
#include <smtpkit/server/config.hpp>  // server_config

SMTPKIT_NAMESPACE_BEGIN

namespace asio {

/// A strand of the io_context: the executor of a listener, and of a connection unless
/// server_options::concurrency is 1.
using strand_type = ::asio::strand<::asio::io_context::executor_type>;
/// The executor a connection runs on: its own strand, or the io_context's executor when
/// server_options::concurrency is 1.
using executor_type = ::asio::any_io_executor;
/// The socket type of a connection.
using socket_type = ::asio::basic_stream_socket<::asio::ip::tcp, executor_type>;

/// How the server runs its connections.
struct server_options {
  /// The configuration of every session (features, limits, leniency, timeouts). The server
  /// copies the hostname and greeting it views.
  server_config session{};
  /// Connections served at once; one over it gets "421 4.3.2 ... too many connections".
  std::size_t max_connections = 1000;
  /// Bytes asked for in each read (allocated once per connection, at its first read).
  std::size_t read_size = 65536;
  /// No reading while more than this many reply bytes are waiting to be sent (back-pressure).
  std::size_t max_unsent_output = 8192;
  /// Bound on flushing the last reply and reading the peer's leftovers once a session ended.
  std::chrono::milliseconds close_linger{5000};
  /// Bytes of leftovers read (and dropped) after a session ended before the socket closes.
  std::size_t close_drain = 1u << 20;
  /// How many threads run the io_context. With 1, connections run on the io_context's own
  /// executor: the one thread serializes them already, and a strand per connection would only
  /// add its allocation, a lock and a second queueing of every completion. Any other value (0,
  /// the default, stands for "unknown") gives every connection a strand of its own.
  /// @warning With 1, io_context::run() must be called from one thread only.
  unsigned concurrency = 0;
};

/// Who a connection is with.
struct connection_info {
  std::uint64_t id = 0;              ///< 1, 2, 3 ... in accept order, per server
  ::asio::ip::tcp::endpoint remote;  ///< the peer's address and port
  ::asio::ip::tcp::endpoint local;   ///< the listener's address and port
};

/// Counters of a server; every field is a snapshot.
struct server_stats {
  std::uint64_t accepted = 0;  ///< connections given a session
  std::uint64_t refused = 0;   ///< connections over max_connections, sent 421
  std::size_t active = 0;      ///< connections open now
};

}  // namespace asio

SMTPKIT_NAMESPACE_END
