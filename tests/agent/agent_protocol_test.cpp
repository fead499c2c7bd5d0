// The agent's request parser and its fair queue, without a daemon.

#include <gtest/gtest.h>

#include <string>

#include "engine/agent/fair_queue.hpp"
#include "engine/agent/protocol.hpp"

namespace {
using namespace keyfence::engine::agent;
using keyfence::base::ErrorCode;

keyfence::base::Result<Request> parse(const std::string& text) {
    return parse_request({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

TEST(AgentProtocol, ARequestSurvivesTheRoundTrip) {
    Request sign;
    sign.id = 7;
    sign.op = RequestOp::Sign;
    sign.key_uri = "pkcs11:token=t;object=k";
    sign.digest = std::vector<std::uint8_t>(32, 0xab);
    sign.hash = "sha256";
    sign.summary = {{"From", "a@example.org"}, {"SHA-256", "00"}};
    sign.options.modules = {"/m.so"};
    sign.options.no_p11_kit = true;
    auto parsed = parse(request_json(sign).dump());
    ASSERT_TRUE(parsed) << parsed.error().message();
    EXPECT_EQ(parsed->id, 7u);
    EXPECT_EQ(parsed->op, RequestOp::Sign);
    EXPECT_EQ(parsed->key_uri, sign.key_uri);
    EXPECT_EQ(parsed->digest, sign.digest);
    EXPECT_EQ(parsed->summary, sign.summary);
    EXPECT_EQ(parsed->options, sign.options);
}

TEST(AgentProtocol, APgpSessionRequestSurvivesTheRoundTrip) {
    Request use;
    use.id = 9;
    use.op = RequestOp::PgpSession;
    use.action = "use";
    use.homedir = "/home/u/.local/share/keyfence/gnupg";
    use.token_serial = "0000C0DE";
    use.token_label = "OpenPGP card 0000C0DE";
    use.module = "pcsc:Keyfence VCard 00 00";
    const std::string text = request_json(use).dump();
    EXPECT_NE(text.find("\"op\":\"pgp-session\""), std::string::npos) << text;
    auto parsed = parse(text);
    ASSERT_TRUE(parsed) << parsed.error().message();
    EXPECT_EQ(parsed->op, RequestOp::PgpSession);
    EXPECT_EQ(parsed->action, "use");
    EXPECT_EQ(parsed->homedir, use.homedir);
    EXPECT_EQ(parsed->token_serial, use.token_serial);
    EXPECT_EQ(parsed->token_label, use.token_label);
    EXPECT_EQ(parsed->module, use.module);
}

TEST(AgentProtocol, MalformedRequestsAreBadInputWithTheReason) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"{", "not JSON"},
        {"[1]", "not a JSON object"},
        {R"({"id":1,"op":"ping"})", "\"v\""},
        {R"({"v":1,"op":"ping"})", "\"id\""},
        {R"({"v":1,"id":-1,"op":"ping"})", "\"id\""},
        {R"({"v":1,"id":1,"op":"explode"})", "unknown op"},
        {R"({"v":1,"id":1,"op":"sign","digest":"00"})", "missing key"},
        {R"({"v":1,"id":1,"op":"sign","key":"k","digest":"zz"})", "digest must be hex"},
        {R"({"v":1,"id":1,"op":"sign","key":"k","digest":"00","hash":"md5"})", "hash must"},
        {R"({"v":1,"id":1,"op":"sign","key":5,"digest":"00"})", "key must be a string"},
        {R"({"v":1,"id":1,"op":"sign","key":"k","digest":")" + std::string(130, 'a') + "\"}",
         "digest is too long"},
        {R"({"v":1,"id":1,"op":"sign","key":"k","digest":"00","summary":[["a"]]})", "summary"},
        {R"({"v":1,"id":1,"op":"decrypt","key":"k","mechanism":"rot13","data":"00"})",
         "mechanism must"},
        {R"({"v":1,"id":1,"op":"sign","key":"k","digest":"00","options":{"demo":"yes"}})",
         "options: demo"},
        {R"({"v":1,"id":1,"op":"pgp-session","homedir":"/h","token_serial":"1","module":"m"})",
         "missing action"},
        {R"({"v":1,"id":1,"op":"pgp-session","action":"steal","homedir":"/h","token_serial":"1",)"
         R"("module":"m"})",
         "action must be use or open"},
        {R"({"v":1,"id":1,"op":"pgp-session","action":"use","homedir":"rel","token_serial":"1",)"
         R"("module":"m"})",
         "homedir must be an absolute path"},
        {R"({"v":1,"id":1,"op":"pgp-session","action":"use","homedir":"/h","token_serial":"",)"
         R"("module":"m"})",
         "must not be empty"},
        {R"({"v":1,"id":1,"op":"pgp-session","action":"use","homedir":")" + std::string(5000, 'a') +
             R"(","token_serial":"1","module":"m"})",
         "homedir is too long"},
    };
    for (const auto& [text, reason] : cases) {
        auto parsed = parse(text);
        ASSERT_FALSE(parsed) << text;
        EXPECT_EQ(parsed.error().code, ErrorCode::BadInput) << text;
        EXPECT_NE(parsed.error().context.find(reason), std::string::npos)
            << text << " -> " << parsed.error().context;
    }
}

TEST(AgentProtocol, ErrorsKeepTheirCodeAcrossTheSocket) {
    keyfence::base::Error error(ErrorCode::PinIncorrect, "wrong PIN", "try again");
    error.from(keyfence::base::Origin::Pkcs11, 0xa0, "CKR_PIN_INCORRECT");
    error.retries_left = 2;
    const auto back = error_from_json(error_json(error));
    EXPECT_EQ(back.code, ErrorCode::PinIncorrect);
    EXPECT_EQ(back.message(), error.message());
    EXPECT_EQ(back.hint, "try again");
    EXPECT_EQ(back.retries_left, 2);
}

TEST(FairQueue, TakesJobsRoundRobinAcrossClientsControlFirst) {
    FairQueue<std::string> queue(10);
    for (int i = 0; i < 3; ++i) queue.push(1, "a" + std::to_string(i));
    queue.push(2, "b0");
    queue.push(3, "c0");
    queue.push(3, "c1");
    queue.push(9, "lock", true);
    std::vector<std::string> order;
    while (auto job = queue.pop(std::chrono::milliseconds(0))) order.push_back(*job);
    EXPECT_EQ(order, (std::vector<std::string>{"lock", "a0", "b0", "c0", "a1", "c1", "a2"}));
}

TEST(FairQueue, ADisconnectedClientsWorkIsDroppedAndTheQueueIsBounded) {
    FairQueue<int> queue(2);
    EXPECT_TRUE(queue.push(1, 10));
    EXPECT_TRUE(queue.push(1, 11));
    EXPECT_FALSE(queue.push(1, 12));  // bounded per client
    EXPECT_TRUE(queue.push(2, 20));
    EXPECT_EQ(queue.cancel(1), 2u);
    EXPECT_EQ(queue.pop(std::chrono::milliseconds(0)), 20);
    EXPECT_FALSE(queue.pop(std::chrono::milliseconds(0)));
}

}  // namespace
