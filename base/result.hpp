#pragma once
// Result<T>: a value or an Error, shaped like std::expected (which g++ 12 lacks in C++20).

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

#include "base/error.hpp"

namespace keyfence::base {

template <class T>
class [[nodiscard]] Result {
    static_assert(!std::is_same_v<T, Error>, "Result<Error> is meaningless");

  public:
    Result(T value) : m_state(std::in_place_index<0>, std::move(value)) {}      // NOLINT
    Result(Error error) : m_state(std::in_place_index<1>, std::move(error)) {}  // NOLINT

    bool has_value() const noexcept { return m_state.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }

    T& value() & { return std::get<0>(m_state); }
    const T& value() const& { return std::get<0>(m_state); }
    T&& value() && { return std::get<0>(std::move(m_state)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const Error& error() const& { return std::get<1>(m_state); }
    Error&& error() && { return std::get<1>(std::move(m_state)); }

  private:
    std::variant<T, Error> m_state;
};

template <>
class [[nodiscard]] Result<void> {
  public:
    Result() = default;
    Result(Error error) : m_error(std::move(error)), m_failed(true) {}  // NOLINT

    bool has_value() const noexcept { return !m_failed; }
    explicit operator bool() const noexcept { return has_value(); }
    const Error& error() const& { return m_error; }
    Error&& error() && { return std::move(m_error); }

  private:
    Error m_error;
    bool m_failed = false;
};

using Status = Result<void>;

}  // namespace keyfence::base

/// Evaluates a Result expression; on error returns the error from the enclosing function,
/// otherwise moves the value into a new variable `var`.
#define KEYFENCE_TRY_ASSIGN(var, expr)                           \
    auto var##_result_ = (expr);                                 \
    if (!var##_result_) return std::move(var##_result_).error(); \
    auto var = std::move(*var##_result_)

/// Evaluates a Status expression; on error returns it from the enclosing function.
#define KEYFENCE_TRY(expr)                                                 \
    do {                                                                   \
        auto keyfence_status_ = (expr);                                    \
        if (!keyfence_status_) return std::move(keyfence_status_).error(); \
    } while (0)
