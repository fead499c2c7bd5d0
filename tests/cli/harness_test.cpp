// The test harness itself: a child that hangs is described and killed before the CTest
// timeout, so a hang in a test (docs/testing.md, "Reruns") leaves evidence in the log.

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "tests/support/test_world.hpp"

namespace keyfence::test {
namespace {

TEST(Harness, AHungChildIsDescribedKilledAndExits124) {
    const auto start = std::chrono::steady_clock::now();
    // The shell and the sleep it starts are one process group: both must go.
    const auto r = run({"sh", "-c", "sleep 30 & echo $!; wait"}, {.timeout_seconds = 1});
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(r.exit_code, 124);
    EXPECT_NE(r.err.find("[test harness] sh still running after 1 s"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("sleep 30"), std::string::npos) << r.err;  // the ps listing
    EXPECT_LT(took, std::chrono::seconds(25));
    // The background sleep is gone or a zombie (a container's init may not reap it).
    const std::string sleep_pid = r.out.substr(0, r.out.find('\n'));
    ASSERT_FALSE(sleep_pid.empty()) << r.out;
    // SIGKILL is delivered, not awaited: under load the process can still show as running for
    // a moment, so its state is read until it is gone or a zombie (at most 10 s).
    std::string state, line;
    for (int i = 0; i < 200; ++i) {
        std::ifstream stat("/proc/" + sleep_pid + "/stat");
        if (!std::getline(stat, line)) break;
        state = line.substr(line.rfind(')') + 2, 1);
        if (state == "Z") break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!state.empty()) {
        EXPECT_EQ(state, "Z") << "the group was not killed: " << line;
    }
}

TEST(Harness, AChildThatEndsInTimeIsUntouched) {
    const auto r = run({"sh", "-c", "echo out; echo err >&2; exit 3"}, {.timeout_seconds = 5});
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_EQ(r.out, "out\n");
    EXPECT_EQ(r.err, "err\n");
}

}  // namespace
}  // namespace keyfence::test
