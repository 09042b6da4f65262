// smtpkit asio: the Asio server driver. Listeners (IPv4 and IPv6) accept connections, and one
// driver per connection (connection.hpp) runs a server_session (smtpkit/server.hpp) over a TCP
// socket, handing its events to the application's connection_handler (handler.hpp). This is
// the header to include: it brings in the options (server_options.hpp), the handler interface
// and the connection driver. RFC 5321 4.5.3.2 (timeouts), 3.8 and 4.2.3 (421 on shutdown and
// over the connection limit), RFC 2920 (replies coalesced per batch of pipelined commands),
// RFC 2033 (one reply per LMTP recipient).
//
// Rules:
//  1. Listeners and connections each run on their own strand, so one io_context may run on
//     any number of threads; with server_options::concurrency 1, connections run on the
//     io_context's executor instead, and one thread runs it.
//  2. At most server_options::max_connections connections are served at once; one over it
//     gets "421 4.3.2" and is closed, whichever thread accepted it.
//  3. Graceful stop: listeners close, idle sessions get 421 at once, a transaction in flight is
//     finished or, after the grace period, refused with 421; then io_context::run() returns.
//  4. Connections hold the server's shared state, so they may outlive the server object while
//     they finish.
// Only files under include/smtpkit/asio/ include Asio.
// SPDX-License-Identifier: MIT
#pragma once

#include <asio.hpp>  // io_context, ip::tcp, basic_socket_acceptor, steady_timer, async_write
#include <chrono>    // milliseconds
#include <cstddef>   // size_t
#include <memory>    // shared_ptr, make_shared
#include <mutex>     // mutex, lock_guard
#include <optional>  // optional
#include <smtpkit/asio/connection.hpp>      // connection, detail::server_core
#include <smtpkit/asio/handler.hpp>         // connection_handler, decision
#include <smtpkit/asio/server_options.hpp>  // server_options, connection_info, server_stats
#include <smtpkit/core/config.hpp>
#include <smtpkit/server.hpp>  // server_session
#include <system_error>        // error_code
#include <utility>             // move
#include <vector>              // vector

SMTPKIT_NAMESPACE_BEGIN

namespace asio {

/// An SMTP (or LMTP) server on an io_context: listeners, connections, and a graceful stop.
///
/// @code
/// asio::io_context ioc;
/// smtpkit::asio::server srv(ioc, options, [](const smtpkit::asio::connection_info&) {
///   return std::make_unique<my_handler>();
/// });
/// std::error_code ec;
/// auto ep = srv.listen({asio::ip::make_address("127.0.0.1"), 2525}, ec);
/// ioc.run();   // on one thread, or on several
/// @endcode
class server {
 public:
  /// A function that makes the handler of each new connection; returning null refuses the
  /// connection (it is closed at once).
  using handler_factory =
      std::function<std::unique_ptr<connection_handler>(const connection_info&)>;

  /// Makes a server on @p ioc; nothing listens until listen().
  server(::asio::io_context& ioc, server_options options, handler_factory factory)
      : core_(std::make_shared<detail::server_core>(ioc, std::move(options), std::move(factory))) {}
  server(const server&) = delete;
  server& operator=(const server&) = delete;
  /// Closes the listeners. Connections still open run on until they end (stop() ends them).
  ~server() { close_listeners(); }

  /// Listens on @p endpoint (port 0 picks a free port). IPv6 listeners are IPv6-only, so
  /// "[::]:N" and "0.0.0.0:N" can both be used.
  /// @return the endpoint actually bound; on failure @p ec is set (the system's error: address
  ///         in use, permission denied ...) and the returned endpoint is unspecified.
  ::asio::ip::tcp::endpoint listen(const ::asio::ip::tcp::endpoint& endpoint, std::error_code& ec) {
    auto l = std::make_shared<listener>(core_->ioc);
    auto& a = l->acceptor;
    ec.clear();
    a.open(endpoint.protocol(), ec);
    if (!ec) a.set_option(::asio::socket_base::reuse_address(true), ec);
    if (!ec && endpoint.address().is_v6()) a.set_option(::asio::ip::v6_only(true), ec);
    if (!ec) a.bind(endpoint, ec);
    if (!ec) a.listen(::asio::socket_base::max_listen_connections, ec);
    if (!ec) {
      const ::asio::ip::tcp::endpoint bound = a.local_endpoint(ec);
      if (!ec) {
        l->local = bound;
        l->local_known = !bound.address().is_unspecified();
        {
          std::lock_guard<std::mutex> lock(listeners_mu_);
          listeners_.push_back(l);
        }
        ::asio::dispatch(a.get_executor(), [core = core_, l] { accept_next(core, l); });
        return bound;
      }
    }
    std::error_code ignored;
    a.close(ignored);
    return endpoint;
  }

  /// Stops gracefully, from any thread: listeners close, idle sessions get "421 4.3.2 ...
  /// shutting down" now, a transaction in flight is finished and then gets 421, or gets 421
  /// (and is dropped) once @p grace has passed. io_context::run() returns when all are closed.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(10000)) {
    std::vector<std::shared_ptr<connection>> open;
    {
      std::lock_guard<std::mutex> lock(core_->mu);
      core_->stop_grace = grace;
      core_->stopping.store(true);
      for (auto& w : core_->connections)
        if (auto c = w.lock()) open.push_back(std::move(c));
    }
    close_listeners();
    for (auto& c : open)
      ::asio::dispatch(c->executor(), [c, grace] { c->guarded([&] { c->begin_stop(grace); }); });
  }

  /// Ends every connection at once, from any thread (no reply; messages in flight dropped).
  void abort_all() {
    std::vector<std::shared_ptr<connection>> open;
    {
      std::lock_guard<std::mutex> lock(core_->mu);
      core_->stopping.store(true);
      for (auto& w : core_->connections)
        if (auto c = w.lock()) open.push_back(std::move(c));
    }
    close_listeners();
    for (auto& c : open) c->abort();
  }

  /// Returns the server's counters.
  server_stats stats() const noexcept {
    return {core_->accepted.load(), core_->refused.load(), core_->active.load()};
  }

  /// Returns the options in force (hostname and greeting view the server's copies).
  const server_options& options() const noexcept { return core_->options; }

 private:
  struct listener {
    ::asio::basic_socket_acceptor<::asio::ip::tcp, strand_type> acceptor;
    std::optional<::asio::steady_timer> backoff;
    ::asio::ip::tcp::endpoint peer;   // filled in by each accept, so no getpeername() follows
    ::asio::ip::tcp::endpoint local;  // the bound endpoint: every connection's local one,
    bool local_known = false;         // unless bound to a wildcard address
    explicit listener(::asio::io_context& ioc) : acceptor(::asio::make_strand(ioc)) {}
  };

  void close_listeners() {
    std::vector<std::shared_ptr<listener>> ls;
    {
      std::lock_guard<std::mutex> lock(listeners_mu_);
      ls.swap(listeners_);
    }
    for (auto& l : ls)
      ::asio::dispatch(l->acceptor.get_executor(), [l] {
        std::error_code ignored;
        l->acceptor.close(ignored);
        if (l->backoff) l->backoff->cancel();
      });
  }

  static void accept_next(const std::shared_ptr<detail::server_core>& core,
                          const std::shared_ptr<listener>& l) {
    if (!l->acceptor.is_open()) return;
    const executor_type ex = core->options.concurrency == 1
                                 ? executor_type(core->ioc.get_executor())
                                 : executor_type(::asio::make_strand(core->ioc));
    l->acceptor.async_accept(ex, l->peer, [core, l](const std::error_code& ec, socket_type s) {
      on_accept(core, l, ec, std::move(s));
    });
  }

  static void on_accept(const std::shared_ptr<detail::server_core>& core,
                        const std::shared_ptr<listener>& l, const std::error_code& ec,
                        socket_type s) {
    if (ec == ::asio::error::operation_aborted || !l->acceptor.is_open()) return;
    if (ec) {
      // Out of descriptors or memory: wait a moment rather than spin, then go on accepting.
#if defined(__cpp_exceptions)
      try {
#endif
        if (!l->backoff) l->backoff.emplace(core->ioc);
        l->backoff->expires_after(std::chrono::milliseconds(100));
        l->backoff->async_wait(
            ::asio::bind_executor(l->acceptor.get_executor(), [core, l](const std::error_code& e) {
              if (!e) accept_next(core, l);
            }));
#if defined(__cpp_exceptions)
      } catch (...) {
      }
#endif
      return;
    }
    start_connection(core, *l, std::move(s));
    accept_next(core, l);
  }

  static void start_connection(const std::shared_ptr<detail::server_core>& core, const listener& l,
                               socket_type s) {
    std::error_code ignored;
    s.set_option(::asio::ip::tcp::no_delay(true), ignored);
    // Take a slot first, so that listeners on several threads never overshoot the limit.
    const bool stopping = core->stopping.load();
    if (stopping || core->active.fetch_add(1) >= core->options.max_connections) {
      if (!stopping) core->active.fetch_sub(1);
      core->refused.fetch_add(1);
      refuse(core, std::move(s));
      return;
    }
    connection_info info;
    info.id = core->next_id.fetch_add(1);
    info.remote = l.peer;
    info.local = l.local_known ? l.local : s.local_endpoint(ignored);
    std::shared_ptr<connection> c;
#if defined(__cpp_exceptions)
    try {
#endif
      c = std::make_shared<connection>(core, std::move(s), std::move(info));
#if defined(__cpp_exceptions)
    } catch (...) {
      core->active.fetch_sub(1);  // no connection, so no destructor to give the slot back
      return;
    }
#endif
    // From here the connection's destructor gives the slot back.
    core->accepted.fetch_add(1);
    ::asio::dispatch(c->executor(), [c] { c->guarded([&] { c->start(); }); });
  }

  /// Sends the "too many connections" 421 and closes.
  static void refuse(const std::shared_ptr<detail::server_core>& core, socket_type s) {
    auto sock = std::make_shared<socket_type>(std::move(s));
    ::asio::async_write(*sock, ::asio::buffer(core->busy_reply),
                        [core, sock](const std::error_code&, std::size_t) {
                          std::error_code ignored;
                          sock->shutdown(::asio::socket_base::shutdown_both, ignored);
                          sock->close(ignored);
                        });
  }

  std::shared_ptr<detail::server_core> core_;
  std::mutex listeners_mu_;
  std::vector<std::shared_ptr<listener>> listeners_;
};

}  // namespace asio

SMTPKIT_NAMESPACE_END
