// smtpkit core: fixed-capacity buffers. Writers append into a byte_writer over memory the caller
// owns; sessions own a fixed_buffer allocated once, at construction.
//
// Rules:
//  1. Nothing here grows: capacity is fixed when the object is made.
//  2. A failed append leaves the contents as they were (writers can roll back with mark()).
// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>  // size_t
#include <cstring>  // memcpy, memmove
#include <memory>   // unique_ptr
#include <smtpkit/core/config.hpp>
#include <string_view>  // string_view

SMTPKIT_NAMESPACE_BEGIN

/// Appends bytes into a fixed region of memory owned by the caller. Never allocates.
class byte_writer {
 public:
  /// Makes a writer over @p capacity bytes at @p data (which must outlive the writer).
  byte_writer(char* data, std::size_t capacity) noexcept : data_(data), capacity_(capacity) {}

  /// Appends @p s whole. Returns false, and appends nothing, when it does not fit.
  bool append(std::string_view s) noexcept {
    if (s.size() > capacity_ - size_) return false;
    if (!s.empty()) std::memcpy(data_ + size_, s.data(), s.size());
    size_ += s.size();
    return true;
  }
  /// Appends one byte. Returns false when full.
  bool push(char c) noexcept {
    if (size_ == capacity_) return false;
    data_[size_++] = c;
    return true;
  }
  /// Appends the decimal form of @p v. Returns false, and appends nothing, when it does not fit.
  bool append_uint(unsigned long long v) noexcept {
    char tmp[20];
    std::size_t n = 0;
    do {
      tmp[n++] = static_cast<char>('0' + static_cast<int>(v % 10));
      v /= 10;
    } while (v != 0);
    if (n > capacity_ - size_) return false;
    while (n != 0) data_[size_++] = tmp[--n];
    return true;
  }

  /// Returns the current size, to give back to rollback() if a later append fails.
  std::size_t mark() const noexcept { return size_; }
  /// Drops everything appended after @p m. @pre m <= size().
  void rollback(std::size_t m) noexcept { size_ = m < size_ ? m : size_; }

  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return capacity_; }
  std::size_t space() const noexcept { return capacity_ - size_; }
  /// Returns what has been written.
  std::string_view view() const noexcept { return {data_, size_}; }
  void clear() noexcept { size_ = 0; }

 private:
  char* data_;
  std::size_t capacity_;
  std::size_t size_ = 0;
};

/// A byte queue of fixed capacity, allocated once at construction: bytes are appended at the
/// back and consumed from the front; free space at the front is reclaimed by compaction.
class fixed_buffer {
 public:
  /// Allocates @p capacity bytes (the only allocation this object makes).
  explicit fixed_buffer(std::size_t capacity)
      : data_(capacity ? new char[capacity] : nullptr), capacity_(capacity) {}

  /// Appends as much of @p s as fits. Returns how many bytes were taken.
  std::size_t write(std::string_view s) noexcept {
    if (end_ + s.size() > capacity_ && begin_ != 0) compact();
    const std::size_t n = s.size() < capacity_ - end_ ? s.size() : capacity_ - end_;
    if (n != 0) std::memcpy(data_.get() + end_, s.data(), n);
    end_ += n;
    return n;
  }
  /// Returns the bytes held, contiguous. @warning Invalidated by write() and compact().
  std::string_view view() const noexcept { return {data_.get() + begin_, end_ - begin_}; }
  /// Drops the first @p n bytes held. @pre n <= size().
  void consume(std::size_t n) noexcept {
    begin_ += n < size() ? n : size();
    if (begin_ == end_) begin_ = end_ = 0;
  }
  /// Moves the bytes held to the front of the storage.
  void compact() noexcept {
    if (begin_ == 0) return;
    std::memmove(data_.get(), data_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  /// Returns a writer over the free space at the back (after compaction); call commit(n) after.
  byte_writer back_writer() noexcept {
    compact();
    return byte_writer(data_.get() + end_, capacity_ - end_);
  }
  /// Marks @p n bytes written through back_writer() as held. @pre n <= space().
  void commit(std::size_t n) noexcept { end_ += n; }

  std::size_t size() const noexcept { return end_ - begin_; }
  bool empty() const noexcept { return end_ == begin_; }
  std::size_t capacity() const noexcept { return capacity_; }
  /// Returns how many bytes write() can take now.
  std::size_t space() const noexcept { return capacity_ - size(); }
  void clear() noexcept { begin_ = end_ = 0; }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t capacity_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

SMTPKIT_NAMESPACE_END
