// smtpkit tests: a copy of some bytes placed against an unreadable page, so that a parser that
// reads one byte past its input crashes at once (picohttpparser's test.c does the same).
// SPDX-License-Identifier: MIT
#pragma once

#include <sys/mman.h>  // mmap, mprotect, munmap
#include <unistd.h>    // sysconf

#include <cstddef>      // size_t
#include <cstdlib>      // abort
#include <cstring>      // memcpy
#include <string_view>  // string_view

namespace smtpkit_test {

/// Holds a copy of the input whose last byte is followed by a PROT_NONE page.
class guarded_copy {
 public:
  explicit guarded_copy(std::string_view data) {
    const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const std::size_t data_pages = (data.size() + page - 1) / page;
    size_ = (data_pages + 1) * page;
    void* p = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) std::abort();
    base_ = static_cast<char*>(p);
    if (mprotect(base_ + data_pages * page, page, PROT_NONE) != 0) std::abort();
    char* start = base_ + data_pages * page - data.size();
    if (!data.empty()) std::memcpy(start, data.data(), data.size());
    view_ = std::string_view(start, data.size());
  }
  ~guarded_copy() { munmap(base_, size_); }
  guarded_copy(const guarded_copy&) = delete;
  guarded_copy& operator=(const guarded_copy&) = delete;
  guarded_copy(guarded_copy&& o) noexcept : base_(o.base_), size_(o.size_), view_(o.view_) {
    o.base_ = nullptr;
    o.size_ = 0;
  }
  guarded_copy& operator=(guarded_copy&&) = delete;

  /// Returns the guarded bytes.
  std::string_view view() const noexcept { return view_; }

 private:
  char* base_ = nullptr;
  std::size_t size_ = 0;
  std::string_view view_;
};

}  // namespace smtpkit_test
