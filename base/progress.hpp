#pragma once
// A progress line on stderr for long work, shown only when stderr is a terminal.

#include <chrono>
#include <cstdint>
#include <string>

namespace keyfence::base {

class Progress {
  public:
    /// `total` 0 means unknown. Shows nothing unless stderr is a terminal and the work takes
    /// longer than half a second.
    Progress(std::string what, std::uint64_t total);
    ~Progress();
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    void update(std::uint64_t done);

  private:
    std::string m_what;
    std::uint64_t m_total;
    bool m_enabled;
    bool m_shown = false;
    std::chrono::steady_clock::time_point m_start;
    std::chrono::steady_clock::time_point m_last;
};

}  // namespace keyfence::base
